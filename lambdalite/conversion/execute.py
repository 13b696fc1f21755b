"""Execute a ``ConversionPlan``: one TFLite file per variant, then the manifest.

A variant that fails is recorded with its reason and the others go on; the
command fails only when no variant could be made.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdalite import progress as progress_
from lambdalite.conversion.assemble import (
    FileInterface,
    assemble,
    read_interface,
    sha256_file,
    variant_record,
)
from lambdalite.conversion.capture import (
    CUSTOM_OPS,
    SELECT_OPS,
    Note,
    capture_converter_output,
    ops_listed,
)
from lambdalite.conversion.data import calibration_inputs
from lambdalite.conversion.errors import ConversionError, ModelError
from lambdalite.conversion.formats import ModelFormat, load_keras
from lambdalite.conversion.plan import ConversionPlan, Skipped
from lambdalite.conversion.tflite_info import open_interpreter
from lambdalite.conversion.variants import SPECS, configure
from lambdalite.function.backends.tf import import_tensorflow
from lambdalite.manifest import Manifest, Variant

__all__ = ["ConvertResult", "VariantOutcome", "execute", "sha256_file", "summarize_error"]

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
    interfaces: dict[str, FileInterface] = {}
    shown.total(len(plan.variants) + len(plan.onnx_variants))
    for name in plan.variants:
        shown.update(f"converting {name}")
        outcome, made = _convert_one(plan, name, factory, tf, representative)
        outcomes.append(outcome)
        if made is not None:
            variants[name], interfaces[name] = made
        shown.update(f"{'converted' if outcome.ok else 'failed'} {name}", 1)
    if not variants:
        reasons = "; ".join(f"{o.variant}: {o.reason}" for o in outcomes)
        raise ConversionError(f"no variant could be made ({reasons})")
    if plan.onnx:
        from lambdalite.conversion.onnx_export import export_onnx  # deferred: --onnx only

        failed, onnx = export_onnx(plan, shown)
        outcomes += [VariantOutcome(n, False, reason) for n, reason in failed]
        outcomes += [VariantOutcome(n, True, size_bytes=v.size_bytes) for n, v in onnx.items()]
        variants.update(onnx)
    manifest = assemble(plan, variants, interfaces)
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
    representative: Callable[[], Iterator[Any]] | None,
) -> tuple[VariantOutcome, tuple[Variant, FileInterface] | None]:
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
                dense_per_tensor=plan.dense_per_tensor,
            )
            blob = converter.convert()
        except Exception as exc:  # the converter raises ConverterError, ValueError, RuntimeError...
            error = exc
    if blob is None:
        reason = summarize_error(error or RuntimeError("no output"), captured.text)
        return VariantOutcome(name, False, reason, tuple(captured.notes)), None
    target.write_bytes(blob)
    try:
        it = open_interpreter(target)
    except ModelError as exc:
        # e.g. TF Select ops: the file exists but the slim LiteRT runtime cannot run it.
        target.unlink()
        reason = _unloadable(target.name, exc.message, captured.text)
        return VariantOutcome(name, False, reason, tuple(captured.notes)), None
    interface = read_interface(it)
    outcome = VariantOutcome(name, True, notes=tuple(captured.notes), size_bytes=len(blob))
    return outcome, (variant_record(name, target, interface), interface)


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


def _representative(plan: ConversionPlan) -> Callable[[], Iterator[Any]]:
    """One example per step: a list (one input) or a dict by input name (several)."""
    assert plan.calibration is not None  # make_plan guarantees it for int8
    inputs = calibration_inputs(plan.calibration, plan.inputs, plan.calibration_samples,
                                plan.labels)
    count = len(next(iter(inputs.values())))
    single = len(inputs) == 1

    def gen() -> Iterator[Any]:
        for i in range(count):
            if single:
                yield [x[i : i + 1] for x in inputs.values()]
            else:
                yield {name: x[i : i + 1] for name, x in inputs.items()}

    return gen
