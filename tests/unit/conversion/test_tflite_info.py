"""Tensor specs come from LiteRT's tensor details (dicts); these are the shapes LiteRT returns."""

from __future__ import annotations

import numpy as np

from lambdalite.conversion.tflite_info import tensor_spec
from lambdalite.manifest import Quantization


def _detail(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "serving_default_image:0",
        "index": 0,
        "shape": np.array([1, 28, 28, 1], dtype=np.int32),
        "shape_signature": np.array([-1, 28, 28, 1], dtype=np.int32),
        "dtype": np.float32,
        "quantization": (0.0, 0),
    }
    return {**base, **kw}


def test_float_tensor_uses_the_shape_signature() -> None:
    spec = tensor_spec(_detail())
    assert spec.name == "serving_default_image:0"
    assert spec.shape == [-1, 28, 28, 1] and all(type(d) is int for d in spec.shape)
    assert spec.dtype == "float32"
    assert spec.quantization == Quantization(0.0, 0)


def test_int8_tensor_keeps_scale_and_zero_point_as_plain_numbers() -> None:
    spec = tensor_spec(
        _detail(dtype=np.int8, quantization=(np.float32(0.003921568859368563), np.int32(-128)))
    )
    assert spec.dtype == "int8"
    assert spec.quantization.scale == np.float32(0.003921568859368563)
    assert spec.quantization.zero_point == -128
    assert type(spec.quantization.scale) is float and type(spec.quantization.zero_point) is int


def test_uint8_output() -> None:
    spec = tensor_spec(
        _detail(
            shape=np.array([1, 10]),
            shape_signature=np.array([-1, 10]),
            dtype=np.uint8,
            quantization=(0.00390625, 0),
        )
    )
    assert (spec.dtype, spec.shape, spec.quantization) == (
        "uint8",
        [-1, 10],
        Quantization(0.00390625, 0),
    )


def test_fixed_shape_when_no_signature() -> None:
    spec = tensor_spec(_detail(shape_signature=np.array([], dtype=np.int32)))
    assert spec.shape == [1, 28, 28, 1]
    spec = tensor_spec({k: v for k, v in _detail().items() if k != "shape_signature"})
    assert spec.shape == [1, 28, 28, 1]
