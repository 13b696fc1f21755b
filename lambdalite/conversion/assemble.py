"""The manifest from a plan and the files made for it, written once for both paths: a
TensorFlow conversion (``execute``) and a ``.tflite`` taken as it is (``tflite_source``).

The files win over the plan: logical names are the reference variant's (float32 when made)
signature keys, or tensor names without a signature; the plan's kinds, preprocessing and
labels go to them by name, else by position (the planned names are TensorFlow's prediction of
what the converter will call them). Hooks and the evaluation set are copied next to the
variants; the manifest is validated against the schema before it is written.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lambdalite import __version__
from lambdalite.conversion.data import check_evaluation_set
from lambdalite.conversion.errors import ModelError
from lambdalite.conversion.plan import ConversionPlan, PlannedInput, PlannedOutput
from lambdalite.conversion.plan import kind_from_activation as default_kind
from lambdalite.conversion.schema import validate_manifest
from lambdalite.conversion.tflite_info import final_activations, tensor_spec
from lambdalite.function.backends.litert import file_ports
from lambdalite.manifest import (
    Hooks,
    InputSpec,
    Manifest,
    ModelInfo,
    OutputActivation,
    OutputSpec,
    Source,
    TensorSpec,
    Variant,
    logical_shape,
)

REFERENCE = "float32"


@dataclass(frozen=True)
class FileInterface:
    """One converted file as LiteRT reads it: its tensors (logical = the file's own key) and
    each output's final activation."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    activations: list[OutputActivation]


def read_interface(it: Any) -> FileInterface:
    _, ins, outs = file_ports(it)
    return FileInterface(
        [tensor_spec(p.detail, p.key) for p in ins],
        [tensor_spec(p.detail, p.key) for p in outs],
        final_activations(it, outs),
    )


def variant_record(name: str, path: Path, interface: FileInterface) -> Variant:
    blob = path.read_bytes()
    return Variant(
        name=name,
        file=path.name,
        size_bytes=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        inputs=interface.inputs,
        outputs=interface.outputs,
    )


def assemble(plan: ConversionPlan, variants: dict[str, Variant],
             interfaces: dict[str, FileInterface]) -> Manifest:
    reference_name = REFERENCE if REFERENCE in interfaces else next(iter(interfaces))
    ref = interfaces[reference_name]
    in_names = [s.logical for s in ref.inputs]
    out_names = [s.logical for s in ref.outputs]
    inputs = [
        _input(spec, _planned(plan.inputs, spec.logical, i))
        for i, spec in enumerate(ref.inputs)
    ]
    outputs = [
        _output(spec, _planned(plan.outputs, spec.logical, i), ref.activations[i])
        for i, spec in enumerate(ref.outputs)
    ]
    named = {k: _renamed(v, in_names, out_names, plan.model) for k, v in variants.items()}
    hooks = _copy_hooks(plan)
    evaluation_set = _copy_evaluation_set(plan, inputs, outputs)
    manifest = Manifest(
        model=ModelInfo(
            name=plan.name,
            source=_source(plan),
            tf_version=plan.tf_version,
            tf_model=_keep_tf_model(plan) if plan.keep_tf_model else None,
        ),
        inputs=inputs,
        outputs=outputs,
        variants=named,
        default_variant=REFERENCE if REFERENCE in named else next(iter(named)),
        hooks=hooks,
        evaluation_set=evaluation_set,
        api_path=plan.api_path,
        lambdalite_version=__version__,
        created=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    )
    validate_manifest(manifest)
    return manifest


def _planned(planned: tuple[Any, ...], name: str, position: int) -> Any:
    by_name = next((p for p in planned if p.name == name), None)
    if by_name is not None:
        return by_name
    return planned[position] if position < len(planned) else None


def _logical_dtype(spec: TensorSpec) -> str:
    """What the model takes/gives before quantization: a quantized tensor is float32 to the
    function (the backend quantizes); float16 is computed as float32."""
    if spec.quantization.scale != 0.0 or spec.dtype == "float16":
        return "float32"
    return spec.dtype


def _input(spec: TensorSpec, planned: PlannedInput | None) -> InputSpec:
    kind = planned.kind if planned is not None else "tensor"
    return InputSpec(
        name=spec.logical,
        dtype=_logical_dtype(spec),
        shape=logical_shape(spec.shape),
        kind=kind,
        preprocessing=planned.preprocessing if planned is not None and kind == "image" else None,
    )


def _output(spec: TensorSpec, planned: PlannedOutput | None, activation: OutputActivation
            ) -> OutputSpec:
    chosen = (planned.activation if planned is not None else None) or activation
    kind = planned.kind if planned is not None and planned.kind else default_kind(chosen)
    labels = planned.labels if planned is not None else None
    return OutputSpec(
        name=spec.logical,
        dtype=_logical_dtype(spec),
        shape=logical_shape(spec.shape),
        kind=kind,
        activation=chosen,  # type: ignore[arg-type]
        labels=list(labels) if labels else None,
    )


def _renamed(variant: Variant, in_names: list[str], out_names: list[str], model: Path) -> Variant:
    """Every variant's tensors under the reference's names (by key, else by position)."""
    def rename(specs: list[TensorSpec], names: list[str], what: str) -> list[TensorSpec]:
        if len(specs) != len(names):
            raise ModelError(f"{variant.file} has {len(specs)} {what}s but the reference variant "
                             f"has {len(names)}; convert {model} again")
        keys = [s.logical for s in specs]
        if sorted(keys) == sorted(names):
            return specs
        return [s._replace(logical=n) for s, n in zip(specs, names, strict=True)]

    return variant._replace(inputs=rename(variant.inputs, in_names, "input"),
                            outputs=rename(variant.outputs, out_names, "output"))


def _copy_hooks(plan: ConversionPlan) -> Hooks | None:
    if plan.hooks is None:
        return None
    _copy_into(plan.hooks, plan.out)
    return Hooks(module=plan.hooks.name, requirements=tuple(plan.hook_requirements))


def _copy_evaluation_set(plan: ConversionPlan, inputs: list[InputSpec],
                         outputs: list[OutputSpec]) -> str | None:
    if plan.evaluation_set is None:
        return None
    check_evaluation_set(plan.evaluation_set, inputs, outputs)
    _copy_into(plan.evaluation_set, plan.out)
    return plan.evaluation_set.name


def _copy_into(src: Path, out: Path) -> None:
    dest = out / src.name
    if dest.resolve() != src.resolve():
        shutil.copyfile(src, dest)


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
