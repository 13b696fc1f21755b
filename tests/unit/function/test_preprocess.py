import numpy as np
import pytest
from PIL import Image

from lambdalite.errors import ModelError
from lambdalite.function.preprocess import check_input_shape, preprocess, to_array, to_mode
from lambdalite.manifest import Preprocessing

MNIST = Preprocessing(color_mode="L", height=28, width=28, scale=1 / 255.0)


def test_gray_nhwc_scaled():
    img = Image.fromarray(np.full((28, 28), 255, np.uint8))
    arr = to_array(img, MNIST)
    assert arr.shape == (28, 28, 1) and arr.dtype == np.float32
    assert np.allclose(arr, 1.0)


def test_any_size_and_mode_becomes_the_model_input():
    rgba = Image.new("RGBA", (300, 120), (255, 255, 255, 0))
    batch = preprocess([rgba, Image.new("P", (5, 5)), Image.new("1", (28, 28))], MNIST)
    assert batch.shape == (3, 28, 28, 1) and batch.dtype == np.float32


def test_rgb_nchw_scale_and_offset():
    pre = Preprocessing(color_mode="RGB", height=4, width=6, scale=2.0, offset=-1.0, layout="NCHW")
    img = Image.new("RGB", (6, 4), (0, 128, 255))
    arr = to_array(img, pre)
    assert arr.shape == (3, 4, 6)
    assert arr[:, 0, 0].tolist() == [-1.0, 255.0, 509.0]


def test_sixteen_bit_gray_is_rescaled_not_clipped():
    wide = Image.fromarray(np.full((2, 2), 65535, np.uint16))
    assert np.asarray(to_mode(wide, "L")).max() == 255
    half = Image.fromarray(np.full((2, 2), 32896, np.uint16))
    assert np.asarray(to_mode(half, "L")).max() == 128


def test_resize_filter_is_used():
    img = Image.fromarray(np.kron(np.eye(2, dtype=np.uint8) * 255, np.ones((14, 14), np.uint8)))
    small = Preprocessing(color_mode="L", height=3, width=3, scale=1.0, resize_filter="nearest")
    arr = to_array(img, small)[:, :, 0]
    assert set(np.unique(arr).tolist()) <= {0.0, 255.0}


@pytest.mark.parametrize("shape", [[-1, 28, 28, 1], [1, 28, 28, 1], [-1, -1, -1, 1]])
def test_shape_check_accepts(shape):
    check_input_shape(MNIST, shape)


@pytest.mark.parametrize("shape", [[-1, 28, 28, 3], [-1, 32, 32, 1], [-1, 784], [-1, 1, 28, 28]])
def test_shape_check_rejects(shape):
    with pytest.raises(ModelError, match="re-create the manifest"):
        check_input_shape(MNIST, shape)
