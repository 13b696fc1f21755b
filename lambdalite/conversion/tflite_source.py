"""``lambdalite convert model.tflite``: an existing TFLite file, taken as it is, with LiteRT only.

No TensorFlow is imported on this path (a test runs it where ``import tensorflow`` fails).
The file's inputs and outputs are read from its signature (keys) or, without one, its tensors
(names); the variant it is, from its tensor types (``tflite_info.variant_of``); it is copied
into the output folder as ``<variant>.tflite`` next to the manifest. Quantized variants of
it cannot be made here: they need the original TensorFlow model.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from lambdalite import progress as progress_
from lambdalite.conversion.assemble import assemble, read_interface, variant_record
from lambdalite.conversion.execute import ConvertResult, VariantOutcome
from lambdalite.conversion.formats import ModelFacts, ModelFormat, TensorFacts
from lambdalite.conversion.plan import ConversionPlan
from lambdalite.conversion.tflite_info import final_activations, open_interpreter, variant_of
from lambdalite.function.backends.litert import Port, file_ports
from lambdalite.manifest import logical_shape


def inspect_tflite(path: Path) -> ModelFacts:
    it = _open(path)
    signature, ins, outs = file_ports(it)
    return ModelFacts(
        format=ModelFormat.TFLITE,
        inputs=tuple(_facts(p) for p in ins),
        outputs=tuple(_facts(p) for p in outs),
        tf_version=None,
        signature_key=signature,
        signature_keys=tuple(it.get_signature_list()),
        variant=variant_of(it),
        activations=tuple(final_activations(it, outs)),
    )


def _facts(port: Port) -> TensorFacts:
    dtype = np.dtype(port.detail["dtype"]).name
    scale = port.detail.get("quantization", (0.0, 0))[0]
    # A quantized tensor is float to the function (the backend quantizes); so plan with that.
    logical = "float32" if scale or dtype == "float16" else dtype
    return TensorFacts(port.key, tuple(logical_shape(port.shape)), logical)


def execute_tflite(plan: ConversionPlan, progress: progress_.Progress | None = None
                   ) -> ConvertResult:
    """Copy the file in as its variant and write the manifest (one unit of ``progress``)."""
    shown = progress_.resolve(progress)
    shown.total(1)
    (name,) = plan.variants
    with progress_.step(shown, f"reading {plan.model.name} ({name})"):
        plan.out.mkdir(parents=True, exist_ok=True)
        target = plan.out / f"{name}.tflite"
        if target.resolve() != plan.model.resolve():
            shutil.copyfile(plan.model, target)
        interface = read_interface(_open(target))
        variant = variant_record(name, target, interface)
        manifest = assemble(plan, {name: variant}, {name: interface})
        path = manifest.save(plan.out)
    outcome = VariantOutcome(name, True, size_bytes=variant.size_bytes)
    return ConvertResult(manifest, path, (outcome,), plan.skipped, plan)


def _open(path: Path) -> Any:
    return open_interpreter(path, hint="the function serves only files LiteRT can run "
                                       "(builtin ops, no TF Select)")
