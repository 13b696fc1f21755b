import base64
import io

import numpy as np
import pytest
from PIL import Image

from lambdalite.function.decode import DecodeLimits, b64decode, decode_images, open_image
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
    assert len(decode_images([good, EncodedImage(encode(GRAY, "PNG"), False)], DecodeLimits(10_000))) == 2
    with pytest.raises(InvalidBase64, match="image 1"):
        decode_images([good, bad], DecodeLimits(10_000))


# -- the request's decoded-pixel budget ---------------------------------------------------------

MB = 1024 * 1024


def test_the_budget_is_what_memory_size_leaves_for_decoding():
    limits = DecodeLimits.for_function(10**9, None, 1024, in_use_bytes=100 * MB,
                                       target=(28, 28), batch_bytes=0)
    # 1024 MB - 100 MB in use - 10 % headroom, at 16 bytes per decoded pixel
    assert limits.request_pixels == (1024 * MB - 100 * MB - int(1024 * MB * 0.1)) // 16
    assert "MemorySize 1024 MB, 100 MB of it in use" in limits.budget_source
    small = DecodeLimits.for_function(10**9, None, 128, 200 * MB, (28, 28), 0)
    assert small.request_pixels == 28 * 28        # never less than one model-sized image
    explicit = DecodeLimits.for_function(10**9, 5000, 128, 0, (28, 28), 0)
    assert (explicit.request_pixels, explicit.budget_source) == (5000,
                                                                 "LAMBDALITE_MAX_REQUEST_PIXELS")
    assert DecodeLimits.for_function(10**9, None, None, 0, (28, 28), 0).request_pixels is None


def test_the_budget_counts_the_whole_request_before_decoding():
    png = EncodedImage(encode(Image.new("L", (100, 100)), "PNG"), False)
    limits = DecodeLimits(10**9, request_pixels=25_000, budget_source="src", target=(28, 28))
    assert len(decode_images([png, png], limits)) == 2
    with pytest.raises(ImageTooLarge, match=r"decode to 30000 pixels .* budget is 25000 .*src"):
        decode_images([png, png, png], limits)


def test_jpeg_counts_the_pixels_its_draft_scale_decodes():
    big = encode(Image.new("RGB", (2000, 2000), (9, 9, 9)), "JPEG")
    limits = DecodeLimits(10**9, request_pixels=1_000_000, target=(28, 28))
    (img,) = decode_images([EncodedImage(big, False)], limits)
    assert img.size == (125, 125)             # decoded at 1/8 scale, then reduced by 2: >= 3 x 28
    progressive = encode(Image.new("RGB", (2000, 2000), (9, 9, 9)), "JPEG", progressive=True)
    with pytest.raises(ImageTooLarge):        # its full-size coefficients count too
        decode_images([EncodedImage(progressive, False)], DecodeLimits(10**9, 200_000,
                                                                       target=(28, 28)))


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "1", "I;16"])
def test_large_images_are_reduced_toward_the_model_input(mode):
    img = Image.new(mode, (1000, 700))
    fmt = "PNG"
    (out,) = decode_images([EncodedImage(encode(img, fmt), False)],
                           DecodeLimits(10**9, target=(28, 28)))
    assert out.size == (-(-1000 // 11), -(-700 // 8))  # factors keep >= 3 x 28 per axis
    (same,) = decode_images([EncodedImage(encode(GRAY, fmt), False)],
                            DecodeLimits(10**9, target=(28, 28)))
    assert same.size == (28, 28)               # small images are left as they are


def test_png_text_chunks_cannot_fill_memory():
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = encode(GRAY, "PNG")
    text = zlib.compress(b"a" * (900 * 1024), 9)            # 1 KB that inflates to 900 KB
    bomb = png[:33] + b"".join(chunk(b"zTXt", b"k%d\0\0" % i + text) for i in range(8)) + png[33:]
    assert len(bomb) < 32 * 1024
    with pytest.raises(CorruptImage):                        # 7 MB of text: refused at 2 MB
        decode_images([EncodedImage(bomb, False)], DecodeLimits(10**9, target=(28, 28)))


def test_a_model_without_an_image_input_gets_a_budget_and_no_reduction():
    from pathlib import Path

    from lambdalite.function.config import FunctionConfig
    from lambdalite.function.decode import limits_for

    config = FunctionConfig(model_dir=Path("model"), memory_mb=512)
    limits = limits_for(config, None, in_use_bytes=100 * MB)
    assert limits.target is None and limits.request_pixels is not None
    assert limits.request_pixels > 0
