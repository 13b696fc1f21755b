"""Step 2, decode: base64 text -> bytes -> Pillow images, within two memory limits.

Only the formats the function promises are tried (Pillow would otherwise also open
EPS, which runs Ghostscript, and a dozen formats nobody sends to a classifier), and only their
plugins are registered: PNG's at import (INIT, where the warm-up also sends a PNG through the
chain), each other's at the first image of its format (``plugin_for``), all of them before a
SnapStart snapshot and before a hooks model's setup (``load_plugins``). Pillow's
``Image.open`` would import five plugins at its first call (``preinit``: BMP, GIF, JPEG, PPM,
PNG; JPEG's pulls in ``subprocess``): 25 M instructions of INIT (python3.12), a fifth of the
function's cost over the imports-only floor, for formats most functions never see.
``Image.init`` (all ~45 plugins) never runs.
Every limit is checked from the headers, before any pixel is decoded, so an image bomb
costs a few hundred bytes of parsing, not gigabytes of memory:

    LAMBDALITE_MAX_PIXELS          one image's declared width x height
    LAMBDALITE_MAX_REQUEST_PIXELS  the pixels the whole request decodes to (after JPEG's
                                   draft scaling); by default what the function's memory
                                   leaves for decoding (``DecodeLimits.for_function``)

Then the images are decoded one at a time, each reduced at once toward the model's input
size (JPEG: decoded at 1/2, 1/4 or 1/8 scale by ``draft``; others: ``reduce``, a box
filter), always keeping at least ``REDUCING_GAP`` times the input size, where Pillow
documents the result as indistinguishable from resampling the full image. So a request
costs one full-size image at a time, never the sum of them.
"""

from __future__ import annotations

import binascii
import importlib
import io
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from lambdalite import envvars
from lambdalite.function.compat import a2b_base64_strict
from lambdalite.function.config import FunctionConfig
from lambdalite.function.errors import (
    CorruptImage,
    EmptyImage,
    ImageTooLarge,
    InvalidBase64,
    NotAnImage,
)
from lambdalite.function.events import EncodedImage
from lambdalite.lambda_quotas import MB
from lambdalite.manifest import Preprocessing
from lambdalite.records import Record

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
_PLUGINS = {"PNG": "PngImagePlugin", "JPEG": "JpegImagePlugin", "GIF": "GifImagePlugin",
            "BMP": "BmpImagePlugin", "WEBP": "WebPImagePlugin"}
_loaded = {"PNG"}                 # PngImagePlugin, imported above, registered PNG
# Image.open runs preinit (the five plugins) unless Pillow marks it done, in a private flag:
# set here, with the plugins this module registers itself. A Pillow that ignores the flag
# runs preinit, and every format still opens (only INIT is slower).
Image._initialized = max(Image._initialized, 1)
_DATA_URL = re.compile(rb"^\s*data:[^,]{0,200};base64,")
_WHITESPACE = b" \t\n\r\x0b\x0c"  # what bytes.isspace() and a bytes regex's \s match

# Peak bytes per decoded pixel, the worst of the formats: WebP (its decoder's canvas, the
# frame it hands over and the image: 15.7 measured for 4096x4096 RGB and RGBA); PNG and
# BMP take 4-8, JPEG 1-4. The budget assumes the worst so it holds for any mix.
BYTES_PER_PIXEL = 16
# A progressive JPEG keeps every DCT coefficient of the full image while it decodes, even
# at draft scale: 3.25 bytes per full-size pixel measured, counted as 4.
PROGRESSIVE_JPEG_BYTES_PER_PIXEL = 4
# Kept free besides what INIT left in use: the batch, numpy's temporaries, the response.
HEADROOM_BYTES, HEADROOM_FRACTION = 16 * MB, 0.10
REDUCING_GAP = 3
# PNG text chunks (zTXt, iTXt) are decompressed while the header is read: Pillow's own caps
# (1 MB a chunk, 64 MB an image) would let one small file fill a 128 MB function.
PNG_TEXT_CHUNK_LIMIT, PNG_TEXT_MEMORY_LIMIT = 1 * MB, 2 * MB
# Modes ``reduce`` cannot take -> the mode to reduce in (same pixel values after preprocess).
_REDUCIBLE_AS = {"1": "L", "P": "RGB", "I;16": "I", "I;16L": "I", "I;16B": "I", "I;16N": "I"}


class DecodeLimits(Record):
    """What a request may decode: ``max_pixels`` per image (declared size), ``request_pixels``
    for the whole request (None: no budget, memory unknown), why that budget (for the 413),
    and the model's input (width, height) that images are reduced toward (None: no reduction).
    """

    max_pixels: int
    request_pixels: int | None = None
    budget_source: str = envvars.MAX_REQUEST_PIXELS
    target: tuple[int, int] | None = None

    @classmethod
    def for_function(cls, max_pixels: int, explicit: int | None, memory_mb: int | None,
                     in_use_bytes: int, target: tuple[int, int] | None, batch_bytes: int
                     ) -> DecodeLimits:
        """Explicit LAMBDALITE_MAX_REQUEST_PIXELS, else what MemorySize leaves for decoding:
        MemorySize - what INIT left in use - the batch - headroom, at BYTES_PER_PIXEL (but
        never less than one full batch of model-sized images: those need no decoding room)."""
        if explicit is not None:
            return cls(max_pixels, explicit, envvars.MAX_REQUEST_PIXELS, target)
        if memory_mb is None:
            return cls(max_pixels, None, "", target)
        memory = memory_mb * MB
        headroom = max(HEADROOM_BYTES, int(memory * HEADROOM_FRACTION))
        free = memory - in_use_bytes - batch_bytes - headroom
        floor = target[0] * target[1] if target is not None else 0
        pixels = max(floor, free // BYTES_PER_PIXEL)
        source = (f"derived from MemorySize {memory_mb} MB, {in_use_bytes // MB} MB of it in use "
                  f"after INIT, at {BYTES_PER_PIXEL} bytes per decoded pixel")
        return cls(max_pixels, pixels, source, target)


def limits_for(config: FunctionConfig, pre: Preprocessing | None,
               in_use_bytes: int | None = None) -> DecodeLimits:
    """The function's limits at INIT: ``in_use_bytes`` defaults to this process's resident
    memory now (the runtime, the libraries and the model are loaded). ``pre``: the image
    input's preprocessing; None for a model without one (images, for a preprocess hook, are
    then not reduced)."""
    in_use = resident_bytes() if in_use_bytes is None else in_use_bytes
    if pre is None:
        return DecodeLimits.for_function(config.max_pixels, config.max_request_pixels,
                                         config.memory_mb, in_use, None, 0)
    channels = 3 if pre.color_mode == "RGB" else 1
    # float32 batch, and the per-image array preprocess builds before stacking it
    batch = 2 * config.max_images * pre.height * pre.width * channels * 4
    return DecodeLimits.for_function(config.max_pixels, config.max_request_pixels,
                                     config.memory_mb, in_use, (pre.width, pre.height), batch)


def resident_bytes() -> int:
    """This process's resident memory now (Linux; 0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    import resource  # deferred: only INIT asks, once

    return pages * resource.getpagesize()


def decode_images(images: Sequence[EncodedImage], limits: DecodeLimits) -> list[Image.Image]:
    """Every image, decoded and reduced, or the ClientError of the first bad one. All headers
    are read (and the request's budget checked) before the first pixel is decoded."""
    where = [f"image {i}" if len(images) > 1 else "the image" for i in range(len(images))]
    raws = [b64decode(item.data, w) if item.is_base64 else item.data
            for item, w in zip(images, where)]
    costs = []
    for raw, w in zip(raws, where):
        with _opened(raw, limits.max_pixels, w) as img:
            costs.append((_decoded_pixels(img, limits.target), f"{w}: {_describe(img)}"))
    _check_budget(costs, limits)
    out = []
    for raw, w in zip(raws, where):
        with _opened(raw, limits.max_pixels, w) as img:
            out.append(_load_reduced(img, limits.target, w))
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
        return a2b_base64_strict(body)
    except (binascii.Error, ValueError):
        raise InvalidBase64(
            f"{where} is not valid base64; encode the file's bytes, e.g. `base64 -w0 digit.png`"
        ) from None


def open_image(raw: bytes, max_pixels: int, where: str = "the image") -> Image.Image:
    """One image, decoded at full size (tools and tests; requests go through decode_images)."""
    with _opened(raw, max_pixels, where) as img:
        _load(img, where)
        return img.copy()


@contextmanager
def _opened(raw: bytes, max_pixels: int, where: str) -> Iterator[Image.Image]:
    """The image with its header read and checked against ``max_pixels``; closed afterwards."""
    if not raw:
        raise EmptyImage(f"{where} has zero bytes; send a PNG, JPEG, GIF, BMP or WebP file")
    # Untrusted input: Pillow's warnings (odd EXIF, palette transparency) are not ours to
    # print. Pillow's own bomb limit (Image.MAX_IMAGE_PIXELS) is switched off while we open:
    # LAMBDALITE_MAX_PIXELS, checked from the header below, is the one limit, with one
    # message, and it may be set above Pillow's; the PNG text caps are lowered. (All are
    # process-global, which is fine: an execution environment runs one request at a time.)
    saved = Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Image.MAX_IMAGE_PIXELS = None
        PngImagePlugin.MAX_TEXT_CHUNK = PNG_TEXT_CHUNK_LIMIT
        PngImagePlugin.MAX_TEXT_MEMORY = PNG_TEXT_MEMORY_LIMIT
        try:
            img = _open_checked(raw, max_pixels, where)
            try:
                yield img
            finally:
                img.close()
        finally:
            (Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK,
             PngImagePlugin.MAX_TEXT_MEMORY) = saved


def plugin_for(raw: bytes) -> str | None:
    """The accepted format ``raw`` starts like, by the magic bytes Pillow's plugins accept
    (their ``_accept``), its plugin registered now if it was not; None for anything else."""
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        name = "PNG"
    elif raw.startswith(b"\xff\xd8\xff"):
        name = "JPEG"
    elif raw[:6] in (b"GIF87a", b"GIF89a"):
        name = "GIF"
    elif raw.startswith(b"BM"):
        name = "BMP"
    elif raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        name = "WEBP"
    else:
        return None
    _register(name)
    return name


def load_plugins() -> None:
    """Register every accepted format's plugin (before a SnapStart snapshot, which keeps them;
    and before a file no magic bytes named is refused, so no accepted file is)."""
    for name in _PLUGINS:
        _register(name)


def _register(name: str) -> None:
    """Import the format's plugin (its import registers it with Pillow), once."""
    if name not in _loaded:
        importlib.import_module(f"PIL.{_PLUGINS[name]}")
        _loaded.add(name)


def _open_checked(raw: bytes, max_pixels: int, where: str) -> Image.Image:
    if plugin_for(raw) is None:
        load_plugins()
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
        img.close()
        raise ImageTooLarge(
            f"{where} is {img.width}x{img.height} = {pixels} pixels; the limit is "
            f"{max_pixels} ({envvars.MAX_PIXELS}); resize it before sending"
        )
    return img


def _decoded_pixels(img: Image.Image, target: tuple[int, int] | None) -> int:
    """What decoding ``img`` costs, in pixels of BYTES_PER_PIXEL: after JPEG's draft scaling,
    and at least the coefficient buffer a progressive JPEG keeps at full size."""
    full = img.width * img.height
    if img.format != "JPEG" or target is None:
        return full
    _draft(img, target)
    pixels = img.width * img.height
    if img.info.get("progressive") or img.info.get("progression"):
        pixels = max(pixels, full * PROGRESSIVE_JPEG_BYTES_PER_PIXEL // BYTES_PER_PIXEL)
    return pixels


def _check_budget(costs: list[tuple[int, str]], limits: DecodeLimits) -> None:
    total = sum(pixels for pixels, _ in costs)
    if limits.request_pixels is None or total <= limits.request_pixels:
        return
    shown = "; ".join(what for _, what in costs[:4]) + ("; ..." if len(costs) > 4 else "")
    raise ImageTooLarge(
        f"the request's images decode to {total} pixels ({shown}); this function's budget is "
        f"{limits.request_pixels} decoded pixels per request ({limits.budget_source}); send "
        f"fewer or smaller images, or raise the function's MemorySize or "
        f"{envvars.MAX_REQUEST_PIXELS}"
    )


def _describe(img: Image.Image) -> str:
    return f"{img.width}x{img.height} {img.format}"


def _draft(img: Image.Image, target: tuple[int, int]) -> None:
    if img.format == "JPEG":
        # DCT scaling: decodes straight to the smallest size still >= the requested one.
        img.draft(None, (target[0] * REDUCING_GAP, target[1] * REDUCING_GAP))


def _load(img: Image.Image, where: str) -> None:
    try:
        img.load()
    except Exception as exc:  # truncated data: OSError, SyntaxError, EOFError ...
        raise CorruptImage(
            f"{where} is damaged or truncated ({type(exc).__name__}: {exc}); send the whole file"
        ) from None


def _load_reduced(img: Image.Image, target: tuple[int, int] | None, where: str) -> Image.Image:
    """Decode ``img`` and shrink it at once toward ``target``, keeping REDUCING_GAP times it;
    the full-size pixels are released before the next image is decoded."""
    if target is not None:
        _draft(img, target)
    _load(img, where)
    factor = (1, 1) if target is None else (
        max(1, img.width // (target[0] * REDUCING_GAP)),
        max(1, img.height // (target[1] * REDUCING_GAP)))
    if factor == (1, 1):
        return img.copy()
    full = img.convert(_REDUCIBLE_AS[img.mode]) if img.mode in _REDUCIBLE_AS else img
    small = full.reduce(factor)
    if full is not img:
        full.close()
    return small
