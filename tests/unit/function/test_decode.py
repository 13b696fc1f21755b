import base64
import io

import numpy as np
import pytest
from PIL import Image

from lambdalite.function.decode import b64decode, decode_images, open_image
from lambdalite.function.errors import (
    CorruptImage,
    EmptyImage,
    ImageTooLarge,
    InvalidBase64,
    NotAnImage,
)
from lambdalite.function.events import EncodedImage


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


GRAY = Image.fromarray(np.arange(28 * 28, dtype=np.uint8).reshape(28, 28))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
def test_supported_formats(fmt):
    img = open_image(encode(GRAY, fmt), max_pixels=10_000)
    assert img.size == (28, 28)


def test_base64_variants_are_forgiven():
    raw = encode(GRAY, "PNG")
    std = base64.b64encode(raw)
    wrapped = b"\n".join(std[i : i + 76] for i in range(0, len(std), 76))
    url = base64.urlsafe_b64encode(raw).rstrip(b"=")
    data_url = b"data:image/png;base64," + std
    for text in (std, wrapped, url, data_url):
        assert b64decode(text) == raw


@pytest.mark.parametrize("text", [b"not base64!!", b"abcde", "é".encode()])
def test_not_base64(text):
    with pytest.raises(InvalidBase64):
        b64decode(text)


def test_empty():
    with pytest.raises(EmptyImage):
        open_image(b"", 100)
    with pytest.raises(EmptyImage):
        b64decode(b"  \n")


def test_not_an_image_and_unsupported_formats():
    with pytest.raises(NotAnImage):
        open_image(b"hello world, not an image", 100)
    with pytest.raises(NotAnImage):  # TIFF is a real image, but not one the function reads
        open_image(encode(GRAY, "TIFF"), 10_000)


def test_truncated():
    raw = encode(
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)), "PNG"
    )
    with pytest.raises(CorruptImage):
        open_image(raw[: len(raw) // 2], 10_000)


def test_pixel_cap_before_decoding():
    big = encode(Image.new("L", (200, 200)), "PNG")
    assert open_image(big, 40_000).size == (200, 200)
    with pytest.raises(ImageTooLarge, match="40001|40000"):
        open_image(big, 39_999)


def test_our_cap_not_pillows_decides(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow would raise above 2x this
    png = encode(Image.new("L", (100, 100)), "PNG")
    assert open_image(png, 10**9).size == (100, 100)
    with pytest.raises(ImageTooLarge, match="LAMBDALITE_MAX_PIXELS") as info:
        open_image(png, 9_999)
    assert "bomb" not in info.value.message
    assert Image.MAX_IMAGE_PIXELS == 1000  # Pillow's limit is back after each image


def test_decode_images_names_the_bad_one():
    good = EncodedImage(base64.b64encode(encode(GRAY, "PNG")), True)
    bad = EncodedImage(b"!!!", True)
    assert len(decode_images([good, EncodedImage(encode(GRAY, "PNG"), False)], 10_000)) == 2
    with pytest.raises(InvalidBase64, match="image 1"):
        decode_images([good, bad], 10_000)
