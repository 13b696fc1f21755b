"""Calibration and evaluation data: an ``.npz`` or a folder of images.

* ``.npz`` with ``x`` (pixels, (N, H, W, C) or (N, H, W), 0..255) and optionally
  ``y`` (integer class indices).
* a folder of images; with ``<label>/`` subfolders the folder name is the label
  (matched against the manifest's labels, or a class index when it is a number).

Pixels become model input through the same ``Preprocessing`` contract and the same
code (``lambdalite.function.preprocess``) the Lambda function uses, so evaluation
measures what the function will serve. No TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lambdalite.conversion.errors import BadDataset, UnsupportedData
from lambdalite.function.preprocess import CHANNELS, preprocess
from lambdalite.manifest import Preprocessing

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


@dataclass(frozen=True)
class Dataset:
    """Raw pixels or images, with optional integer labels."""

    source: str
    pixels: np.ndarray | None = None  # from an .npz
    images: tuple[Path, ...] = ()  # from a folder
    labels: np.ndarray | None = None  # int64 (N,) or None

    def __len__(self) -> int:
        return len(self.pixels) if self.pixels is not None else len(self.images)

    def subset(self, indices: np.ndarray) -> Dataset:
        return Dataset(
            source=self.source,
            pixels=None if self.pixels is None else self.pixels[indices],
            images=tuple(self.images[i] for i in indices) if self.images else (),
            labels=None if self.labels is None else self.labels[indices],
        )


def load_dataset(path: Path, labels: Sequence[str] | None = None) -> Dataset:
    check_data_path(path)
    return _load_folder(path, labels) if path.is_dir() else _load_npz(path)


def check_data_path(path: Path) -> None:
    """A usage mistake (exit 2), caught before anything is loaded."""
    if path.is_dir() or path.suffix.lower() == ".npz":
        return
    raise UnsupportedData(
        f"{path} is neither an .npz (with `x` and optional `y`) nor a folder of images; "
        "save the data with numpy.savez(path, x=pixels, y=labels) or pass an image folder"
    )


def _load_npz(path: Path) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "x" not in data:
                raise BadDataset(f"{path} has no `x` array (it has: {', '.join(data.files)})")
            x = np.asarray(data["x"])
            y = np.asarray(data["y"]).astype(np.int64) if "y" in data else None
    except (OSError, ValueError) as exc:
        raise BadDataset(f"cannot read {path} ({exc}); save it with numpy.savez") from exc
    if x.ndim not in (3, 4) or len(x) == 0:
        raise BadDataset(f"{path}: `x` has shape {x.shape}; expected (N, H, W[, C]) pixels")
    if y is not None and y.shape != (len(x),):
        raise BadDataset(f"{path}: `y` has shape {y.shape}; expected ({len(x)},)")
    return Dataset(source=str(path), pixels=x, labels=y)


def _load_folder(path: Path, labels: Sequence[str] | None) -> Dataset:
    loose = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    classes = sorted(p for p in path.iterdir() if p.is_dir())
    if classes and not loose:
        files: list[Path] = []
        ys: list[int] = []
        for folder in classes:
            index = _class_index(folder.name, labels)
            found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            files += found
            ys += [index] * len(found)
        if not files:
            raise BadDataset(f"{path}: no images in its label subfolders")
        return Dataset(str(path), images=tuple(files), labels=np.asarray(ys, dtype=np.int64))
    if not loose:
        raise BadDataset(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return Dataset(str(path), images=tuple(loose))


def _class_index(name: str, labels: Sequence[str] | None) -> int:
    if labels and name in labels:
        return list(labels).index(name)
    if name.isdigit():
        return int(name)
    raise BadDataset(
        f"label folder {name!r} is neither one of the model's labels nor a class index; "
        "pass --labels FILE to convert, or name the folders 0, 1, 2 ..."
    )


def model_input(data: Dataset, pre: Preprocessing) -> np.ndarray:
    """Float32 model input for every example, (N, H, W, C) or (N, C, H, W)."""
    if data.pixels is not None:
        return _pixels_to_input(data.pixels, pre, data.source)
    images = []
    for p in data.images:
        try:
            with Image.open(p) as img:
                images.append(img.copy())  # copy: close() would drop the pixels
        except (OSError, UnidentifiedImageError) as exc:
            raise BadDataset(f"cannot read image {p} ({exc})") from exc
    return preprocess(images, pre)


def _pixels_to_input(x: np.ndarray, pre: Preprocessing, source: str) -> np.ndarray:
    if x.ndim == 3:
        x = x[..., None]
    channels = CHANNELS[pre.color_mode]
    if x.shape[1:] == (pre.height, pre.width, channels):
        arr = x.astype(np.float32) * np.float32(pre.scale) + np.float32(pre.offset)
        return np.ascontiguousarray(arr.transpose(0, 3, 1, 2) if pre.layout == "NCHW" else arr)
    if x.shape[-1] not in (1, 3) or (x.dtype != np.uint8 and x.max(initial=0) > 255):
        raise BadDataset(
            f"{source}: `x` has shape {x.shape[1:]} per example; the model takes "
            f"{pre.height}x{pre.width}x{channels} pixels (0..255)"
        )
    # Another size or color mode: go through Pillow, exactly as the function would.
    mode = "L" if x.shape[-1] == 1 else "RGB"
    px = np.clip(x, 0, 255).astype(np.uint8)
    images = [Image.fromarray(img[..., 0] if mode == "L" else img, mode) for img in px]
    return preprocess(images, pre)


def calibration_sample(data: Dataset, count: int) -> Dataset:
    """Up to ``count`` examples spread evenly over the set (deterministic)."""
    if len(data) <= count:
        return data
    return data.subset(np.linspace(0, len(data) - 1, count).round().astype(np.int64))
