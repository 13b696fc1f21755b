"""Execute a ``ConversionPlan``: one TFLite file per variant, then the manifest.

A variant that fails is recorded with its reason and the others go on; the
command fails only when no variant could be made.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lambdalite import __version__
from lambdalite import progress as progress_
from lambdalite.conversion.capture import (
    CUSTOM_OPS,
    SELECT_OPS,
    Note,
    capture_converter_output,
    ops_listed,
)
from lambdalite.conversion.data import calibration_sample, load_dataset, model_input
from lambdalite.conversion.errors import ConversionError, ModelError
from lambdalite.conversion.formats import ModelFormat, load_keras
from lambdalite.conversion.plan import ConversionPlan, Skipped
from lambdalite.conversion.schema import validate_manifest
from lambdalite.conversion.tflite_info import final_activation, open_interpreter, tensor_specs
from lambdalite.conversion.variants import SPECS, configure
from lambdalite.function.backends.tf import import_tensorflow
from lambdalite.manifest import Manifest, ModelInfo, OutputActivation, Source, Variant

FLEX_NODE = re.compile(r"\bFlex([A-Z]\w*)")


@dataclass(frozen=True)
class VariantOutcome:
    variant: str
    ok: bool
    reason: str = ""
    notes: tuple[Note, ...] = ()
    size_bytes: int = 0


@dataclass(frozen=True)
class ConvertResult:
    manifest: Manifest | None
    manifest_path: Path | None
    outcomes: tuple[VariantOutcome, ...]
    skipped: tuple[Skipped, ...] = ()
    plan: ConversionPlan | None = None

    @property
    def failed(self) -> tuple[VariantOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.ok)


def execute(plan: ConversionPlan, progress: progress_.Progress | None = None) -> ConvertResult:
    """One unit of ``progress`` per variant."""
    shown = progress_.resolve(progress)
    tf = import_tensorflow()  # deferred: only conversion needs it

    plan.out.mkdir(parents=True, exist_ok=True)
    factory = converter_factory(plan, tf)
    representative = _representative(plan) if "int8" in plan.variants else None
    outcomes: list[VariantOutcome] = []
    variants: dict[str, Variant] = {}
    activation: OutputActivation | None = plan.output_activation  # type: ignore[assignment]
    shown.total(len(plan.variants))
    for name in plan.variants:
        shown.update(f"converting {name}")
        outcome, variant, act = _convert_one(plan, name, factory, tf, representative)
        outcomes.append(outcome)
        if variant is not None:
            variants[name] = variant
            activation = activation or act
        shown.update(f"{'converted' if outcome.ok else 'failed'} {name}", 1)
    if not variants:
        reasons = "; ".join(f"{o.variant}: {o.reason}" for o in outcomes)
        raise ConversionError(f"no variant could be made ({reasons})")
    manifest = Manifest(
        model=ModelInfo(
            name=plan.name,
            source=_source(plan),
            tf_version=plan.tf_version,
            labels=list(plan.labels) if plan.labels else None,
            output_activation=activation or "none",
            tf_model=_keep_tf_model(plan) if plan.keep_tf_model else None,
        ),
        preprocessing=plan.preprocessing,
        variants=variants,
        default_variant="float32" if "float32" in variants else next(iter(variants)),
        lambdalite_version=__version__,
        created=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    )
    validate_manifest(manifest)
    path = manifest.save(plan.out)
    return ConvertResult(manifest, path, tuple(outcomes), plan.skipped, plan)


def converter_factory(plan: ConversionPlan, tf: Any) -> Callable[[], Any]:
    """A function returning a fresh converter for the source (converters are single-use)."""
    path = str(plan.model)
    if plan.format is ModelFormat.SAVED_MODEL_TF2:
        keys = [plan.signature_key] if plan.signature_key else None
        tags = set(plan.tags) or None
        return lambda: tf.lite.TFLiteConverter.from_saved_model(
            path, signature_keys=keys, tags=tags
        )
    if plan.format is ModelFormat.SAVED_MODEL_TF1:
        return lambda: tf.compat.v1.lite.TFLiteConverter.from_saved_model(
            path, tag_set=set(plan.tags) or None, signature_key=plan.signature_key
        )
    if plan.format in (ModelFormat.KERAS, ModelFormat.H5):
        model = load_keras(plan.model)
        return lambda: tf.lite.TFLiteConverter.from_keras_model(model)
    raise ConversionError(f"cannot convert format {plan.format.value}")


def _convert_one(
    plan: ConversionPlan,
    name: str,
    factory: Callable[[], Any],
    tf: Any,
    representative: Callable[[], Iterator[list[np.ndarray]]] | None,
) -> tuple[VariantOutcome, Variant | None, OutputActivation | None]:
    target = plan.out / f"{name}.tflite"
    error: BaseException | None = None
    blob: bytes | None = None
    with capture_converter_output() as captured:
        try:
            converter = factory()
            configure(
                converter,
                SPECS[name],
                tf,
                representative=representative,
                int8_io=plan.int8_io,
                allow_tf_select=plan.allow_tf_select,
            )
            blob = converter.convert()
        except Exception as exc:  # the converter raises ConverterError, ValueError, RuntimeError...
            error = exc
    if blob is None:
        reason = summarize_error(error or RuntimeError("no output"), captured.text)
        return VariantOutcome(name, False, reason, tuple(captured.notes)), None, None
    target.write_bytes(blob)
    try:
        it = open_interpreter(target)
    except ModelError as exc:
        # e.g. TF Select ops: the file exists but the slim LiteRT runtime cannot run it.
        target.unlink()
        reason = _unloadable(target.name, exc.message, captured.text)
        return VariantOutcome(name, False, reason, tuple(captured.notes)), None, None
    inputs, outputs = tensor_specs(it)
    variant = Variant(
        name=name,
        file=target.name,
        size_bytes=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        inputs=inputs,
        outputs=outputs,
    )
    outcome = VariantOutcome(name, True, notes=tuple(captured.notes), size_bytes=len(blob))
    return outcome, variant, final_activation(it)


def summarize_error(exc: BaseException, converter_text: str = "") -> str:
    """One or two lines a user can act on, from a converter exception and its log."""
    text = f"{exc}\n{converter_text}"
    select, custom = ops_listed(text, SELECT_OPS), ops_listed(text, CUSTOM_OPS)
    problems = []
    if select:
        problems.append(
            f"ops {', '.join(select)} have no TFLite builtin kernel and need TF Select "
            "(the Flex delegate), which the LiteRT runtime lambdalite serves with does not include"
        )
    if custom:
        problems.append(
            f"ops {', '.join(custom)} have no TFLite kernel at all, not even through TF Select"
        )
    if problems:
        return "; ".join(problems) + ": replace them in the model with supported ops"
    # MLIR prefixes its messages with locations ("<unknown>:0: error: loc(...)"): drop them.
    lines = [
        ln.strip()
        for ln in str(exc).splitlines()
        if ln.strip() and not ln.startswith("<unknown>") and "loc(" not in ln
    ]
    return f"{type(exc).__name__}: {(lines[0] if lines else 'no message')[:500]}"


def _unloadable(file: str, message: str, converter_text: str) -> str:
    text = f"{message}\n{converter_text}"
    # LiteRT names them as nodes: "Node number 3 (FlexMatrixInverse) failed to prepare".
    flex = tuple(sorted({*ops_listed(text, SELECT_OPS), *FLEX_NODE.findall(text)}))
    if flex or "Flex" in message:
        ops = ", ".join(flex) or "some ops"
        return (
            f"{file} needs TF Select for {ops} (--allow-tf-select), and the LiteRT runtime "
            "lambdalite serves with cannot run TF Select ops; the file was not kept. Replace "
            "those ops in the model"
        )
    return message


def _representative(plan: ConversionPlan) -> Callable[[], Iterator[list[np.ndarray]]]:
    assert plan.calibration is not None  # make_plan guarantees it for int8
    data = calibration_sample(load_dataset(plan.calibration, plan.labels), plan.calibration_samples)
    x = model_input(data, plan.preprocessing)

    def gen() -> Iterator[list[np.ndarray]]:
        for i in range(len(x)):
            yield [x[i : i + 1]]

    return gen


def _source(plan: ConversionPlan) -> Source:
    path = plan.model
    pb = path / "saved_model.pb" if path.is_dir() else path
    digest = sha256_file(pb) if pb.is_file() else None
    src, out = path.resolve(), plan.out.resolve()
    # A source inside the output folder is recorded relative to it (reproducible).
    shown = str(src.relative_to(out)) if src.is_relative_to(out) else str(path)
    return Source(path=shown, format=plan.format.value, sha256=digest)


def _keep_tf_model(plan: ConversionPlan) -> str:
    """Copy the original model next to the variants for the TF backend; its relative path."""
    src, out = plan.model.resolve(), plan.out.resolve()
    if src.is_relative_to(out):
        return str(src.relative_to(out))
    dest = out / ("saved_model" if src.is_dir() else src.name)
    if dest.exists():
        shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
    if src.is_dir():
        shutil.copytree(src, dest)
    else:
        shutil.copy2(src, dest)
    return dest.name


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
