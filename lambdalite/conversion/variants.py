"""Variant -> TFLite converter options, as a table.

float32  plain conversion, the reference for accuracy and agreement
dynamic  weights int8, activations float at run time (dynamic-range quantization)
float16  weights float16, computed in float32 on CPU (half the size)
int8     full integer: weights and activations int8, int8/uint8 input and output;
         needs a representative dataset (calibration data)

``dense_per_tensor`` (dynamic, int8): dense layers' weights get one scale, not one per
output channel, as TF 2.7's converter wrote them. The runtime of that day (tflite-runtime
2.7.0) cannot load a per-channel dynamic dense layer (FULLY_CONNECTED version 12) and
computes a per-channel int8 one with a single scale, silently wrong (10% MNIST accuracy,
measured). Convolutions stay per channel, so speed is that runtime's own (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lambdalite.manifest import VARIANTS


@dataclass(frozen=True)
class VariantSpec:
    name: str
    summary: str
    optimize: bool = False  # converter.optimizations = [DEFAULT]
    float16: bool = False
    full_integer: bool = False

    @property
    def needs_calibration(self) -> bool:
        return self.full_integer


SPECS: dict[str, VariantSpec] = {
    "float32": VariantSpec("float32", "no quantization"),
    "dynamic": VariantSpec("dynamic", "dynamic-range: int8 weights", optimize=True),
    "float16": VariantSpec("float16", "float16 weights", optimize=True, float16=True),
    "int8": VariantSpec("int8", "full integer, calibrated", optimize=True, full_integer=True),
}
assert tuple(SPECS) == VARIANTS  # the manifest's list and this table must agree

INT8_IO = ("int8", "uint8")

RepresentativeData = Callable[[], Iterator[list[Any]]]


def configure(
    converter: Any,
    spec: VariantSpec,
    tf: Any,
    *,
    representative: RepresentativeData | None = None,
    int8_io: str = "int8",
    allow_tf_select: bool = False,
    dense_per_tensor: bool = False,
) -> None:
    """Set a fresh ``TFLiteConverter`` (v1 or v2 API) up for one variant."""
    ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if spec.optimize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if spec.float16:
        converter.target_spec.supported_types = [tf.float16]
    if spec.full_integer:
        if representative is None:
            raise ValueError("full-integer quantization needs a representative dataset")
        converter.representative_dataset = representative
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io_type = tf.int8 if int8_io == "int8" else tf.uint8
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    if dense_per_tensor and (spec.full_integer or (spec.optimize and not spec.float16)):
        # TF's only switch for it, private (tensorflow/lite/python/lite.py).
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    if allow_tf_select:
        # Ops without a TFLite kernel run through the Flex delegate (needs the full
        # TensorFlow Lite runtime with Flex ops, not the slim LiteRT wheel).
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops
