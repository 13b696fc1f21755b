import numpy as np

from lambdalite.function.backends.litert import dequantize, quantize


def test_int8_round_trip_and_clip():
    detail = {"dtype": np.int8, "quantization": (1 / 255.0, -128)}
    x = np.array([0.0, 0.6, 1.0, 2.0], np.float32)
    q = quantize(x, detail)
    assert q.dtype == np.int8 and q.tolist() == [-128, 25, 127, 127]
    back = dequantize(q, detail)
    assert back.dtype == np.float32
    assert np.allclose(back[:3], x[:3], atol=1 / 255.0)


def test_uint8_and_float_pass_through():
    assert quantize(
        np.array([1.0], np.float32), {"dtype": np.uint8, "quantization": (0.5, 10)}
    ).tolist() == [12]
    f = np.array([0.25], np.float32)
    assert quantize(f, {"dtype": np.float32, "quantization": (0.0, 0)}) is f
    assert dequantize(f, {"quantization": (0.0, 0)}) is f
