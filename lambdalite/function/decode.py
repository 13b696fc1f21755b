"""Step 2, decode: base64 text -> bytes -> a Pillow image, with limits.

Only the formats the function promises are tried (Pillow would otherwise also open
EPS, which runs Ghostscript, and a dozen formats nobody sends to a classifier).
The decoded-pixel cap is checked from the header, before any pixel is decoded, so an
image bomb costs a few hundred bytes of parsing, not gigabytes of memory.
"""

from __future__ import annotations

import binascii
import io
import re
import warnings
from collections.abc import Sequence

from PIL import Image, UnidentifiedImageError

from lambdalite.function.errors import (
    CorruptImage,
    EmptyImage,
    ImageTooLarge,
    InvalidBase64,
    NotAnImage,
)
from lambdalite.function.events import EncodedImage

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
_DATA_URL = re.compile(rb"^\s*data:[^,]{0,200};base64,")
_WHITESPACE = b" \t\n\r\x0b\x0c"  # what bytes.isspace() and a bytes regex's \s match


def decode_images(images: Sequence[EncodedImage], max_pixels: int) -> list[Image.Image]:
    out = []
    for i, item in enumerate(images):
        where = f"image {i}" if len(images) > 1 else "the image"
        raw = b64decode(item.data, where) if item.is_base64 else item.data
        out.append(open_image(raw, max_pixels, where))
    return out


def b64decode(text: bytes, where: str = "the image") -> bytes:
    """Standard or URL-safe base64, line breaks and missing padding forgiven, data: URLs too."""
    # translate, not a regex sub: ~15x faster on a request-sized (MB) body.
    body = _DATA_URL.sub(b"", text, count=1).translate(None, _WHITESPACE)
    if not body:
        raise EmptyImage(f"{where} is empty; send a base64-encoded image")
    if b"-" in body or b"_" in body:
        body = body.replace(b"-", b"+").replace(b"_", b"/")
    body = body.rstrip(b"=")
    body += b"=" * (-len(body) % 4)
    try:
        return binascii.a2b_base64(body, strict_mode=True)
    except (binascii.Error, ValueError):
        raise InvalidBase64(
            f"{where} is not valid base64; encode the file's bytes, e.g. `base64 -w0 digit.png`"
        ) from None


def open_image(raw: bytes, max_pixels: int, where: str = "the image") -> Image.Image:
    if not raw:
        raise EmptyImage(f"{where} has zero bytes; send a PNG, JPEG, GIF, BMP or WebP file")
    # Untrusted input: Pillow's warnings (odd EXIF, palette transparency) are not ours to
    # print. Pillow's own bomb limit (Image.MAX_IMAGE_PIXELS) is switched off while we open:
    # LAMBDALITE_MAX_PIXELS, checked from the header below, is the one limit, with one
    # message, and it may be set above Pillow's. (Both are process-global, which is fine:
    # an execution environment runs one request at a time.)
    pillow_limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Image.MAX_IMAGE_PIXELS = None
        try:
            return _open_checked(raw, max_pixels, where)
        finally:
            Image.MAX_IMAGE_PIXELS = pillow_limit


def _open_checked(raw: bytes, max_pixels: int, where: str) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(raw), formats=FORMATS)  # reads the header only
    except UnidentifiedImageError:
        raise NotAnImage(
            f"{where} is not a supported image ({', '.join(FORMATS)}); "
            "check that you sent the file's bytes, base64-encoded"
        ) from None
    except Exception as exc:  # Pillow's parsers raise many types on malformed headers.
        raise CorruptImage(f"{where} could not be read ({type(exc).__name__})") from None
    pixels = img.width * img.height
    if pixels > max_pixels:
        raise ImageTooLarge(
            f"{where} is {img.width}x{img.height} = {pixels} pixels; the limit is "
            f"{max_pixels} (LAMBDALITE_MAX_PIXELS); resize it before sending"
        )
    try:
        img.load()
    except Exception as exc:  # truncated data: OSError, SyntaxError, EOFError ...
        raise CorruptImage(
            f"{where} is damaged or truncated ({type(exc).__name__}: {exc}); send the whole file"
        ) from None
    return img
