"""Step 3, preprocess: Pillow images -> the model's input batch, as the manifest says.

``model input = pixel * scale + offset`` after converting the color mode and resizing
(stretching, as the AWS SAM template does) to the manifest's height x width.
Color conversion follows Pillow's ``convert`` (alpha is dropped, not composited), the
same as the training and evaluation pipeline, so the function sees what ``convert``
measured.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image

from lambdalite.errors import ModelError
from lambdalite.manifest import Preprocessing

FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}
CHANNELS = {"L": 1, "RGB": 3}
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def preprocess(images: Sequence[Image.Image], pre: Preprocessing) -> np.ndarray:
    """A float32 batch (N, H, W, C) or (N, C, H, W)."""
    return np.stack([to_array(img, pre) for img in images])


def to_array(img: Image.Image, pre: Preprocessing) -> np.ndarray:
    img = to_mode(img, pre.color_mode)
    if img.size != (pre.width, pre.height):
        img = img.resize((pre.width, pre.height), resample=FILTERS[pre.resize_filter])
    arr = np.asarray(img, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    arr = arr * np.float32(pre.scale) + np.float32(pre.offset)
    if pre.layout == "NCHW":
        arr = arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr, dtype=np.float32)


def to_mode(img: Image.Image, mode: str) -> Image.Image:
    if img.mode == mode:
        return img
    if img.mode in _WIDE_MODES:
        # 16-bit PNGs open as I/I;16: Pillow's convert("L") would clip at 255, so rescale.
        wide = np.asarray(img, dtype=np.float32)
        top = 65535.0 if wide.max(initial=0) > 255 else 255.0
        img = Image.fromarray(np.clip(wide * (255.0 / top), 0, 255).astype(np.uint8), "L")
        if mode == "L":
            return img
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # palette-with-transparency notice: alpha is dropped
        return img.convert(mode)


def check_input_shape(pre: Preprocessing, shape: Sequence[int]) -> None:
    """At INIT: the manifest's preprocessing must produce what the model's input takes."""
    want_c = CHANNELS.get(pre.color_mode)
    if want_c is None or pre.resize_filter not in FILTERS or pre.layout not in ("NHWC", "NCHW"):
        raise ModelError(
            f"manifest preprocessing {pre} is not supported (color_mode L|RGB, layout "
            f"NHWC|NCHW, filter {'|'.join(FILTERS)}); fix the manifest"
        )
    expected = (
        [pre.height, pre.width, want_c] if pre.layout == "NHWC" else [want_c, pre.height, pre.width]
    )
    got = list(shape)[1:]
    if len(got) != 3 or any(g not in (e, -1) for g, e in zip(got, expected)):
        raise ModelError(
            f"the model's input is {list(shape)} but the manifest's preprocessing makes "
            f"[N, {', '.join(map(str, expected))}] ({pre.layout}, {pre.color_mode}); "
            "re-create the manifest with `lambdalite convert`"
        )
