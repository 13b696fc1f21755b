"""Calibration and evaluation data: an ``.npz`` or a folder of images.

* ``.npz`` with ``x`` (pixels, (N, H, W, C) or (N, H, W), 0..255) and optionally
  ``y`` (integer class indices).
* a folder of images; with ``<label>/`` subfolders the folder name is the label
  (matched against the manifest's labels, or a class index when it is a number).
* for a model with tensor inputs or several inputs (calibration only): an ``.npz`` with one
  array per input name (``x`` for a model with one input), N examples each: pixels for an
  image input, the model's own values for a tensor input.

The manifest's ``evaluation_set`` (``check_evaluation_set``) is an ``.npz`` of
``inputs/<input name>`` and ``outputs/<output name>`` arrays, N rows each.

Pixels become model input through the same ``Preprocessing`` contract and the same
code (``lambdalite.function.preprocess``) the Lambda function uses, so evaluation
measures what the function will serve. No TensorFlow here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from lambdalite.conversion.errors import BadDataset, UnsupportedData
from lambdalite.function.preprocess import CHANNELS, preprocess
from lambdalite.manifest import InputSpec, OutputSpec, Preprocessing

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


def calibration_inputs(path: Path, inputs: Sequence[Any], count: int,
                       labels: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Up to ``count`` representative examples per input (planned inputs: name, kind, shape,
    preprocessing), as model input. A single image input takes the usual pixels or images."""
    image = inputs[0] if len(inputs) == 1 and inputs[0].kind == "image" else None
    if image is not None:
        data = calibration_sample(load_dataset(path, labels), count)
        return {image.name: model_input(data, image.preprocessing)}
    if path.suffix.lower() != ".npz" or path.is_dir():
        raise BadDataset(f"{path}: a model with tensor inputs calibrates on an .npz with one "
                         f"array per input ({', '.join(i.name for i in inputs)})")
    arrays = _npz_arrays(path)
    out: dict[str, np.ndarray] = {}
    for spec in inputs:
        key = spec.name if spec.name in arrays else ("x" if len(inputs) == 1 else None)
        if key is None or key not in arrays:
            raise BadDataset(f"{path} has no array for input {spec.name!r} (it has: "
                             f"{', '.join(arrays) or 'none'}); save one array per input name")
        x = arrays[key]
        if spec.kind == "image":
            x = _pixels_to_input(x, spec.preprocessing, str(path))
        out[spec.name] = np.asarray(x, dtype=np.float32 if spec.dtype.startswith("float")
                                    else spec.dtype)
    sizes = {len(v) for v in out.values()}
    if len(sizes) != 1 or 0 in sizes:
        raise BadDataset(f"{path}: the inputs' arrays hold different numbers of examples "
                         f"({', '.join(f'{k}: {len(v)}' for k, v in out.items())})")
    total = sizes.pop()
    picked = np.linspace(0, total - 1, min(count, total)).round().astype(np.int64)
    return {k: np.ascontiguousarray(v[picked]) for k, v in out.items()}


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError) as exc:
        raise BadDataset(f"cannot read {path} ({exc}); save it with numpy.savez") from exc


INPUTS_PREFIX, OUTPUTS_PREFIX = "inputs/", "outputs/"
# Optional: per row, the JSON the function's answer must hold (every key of an object equal),
# for a model whose postprocess hook answers instead of the outputs (the stegastamp example).
ANSWERS = "answers"


def check_evaluation_set(path: Path, inputs: Sequence[InputSpec],
                         outputs: Sequence[OutputSpec]) -> int:
    """The examples in an evaluation set: ``inputs/<name>`` for every input, ``outputs/<name>``
    for at least one output, optionally ``answers``, N rows each (nothing else). Returns N."""
    arrays = _npz_arrays(path)
    want_in = {INPUTS_PREFIX + i.name for i in inputs}
    known = want_in | {OUTPUTS_PREFIX + o.name for o in outputs} | {ANSWERS}
    example = ", ".join(sorted(known))
    missing = sorted(want_in - set(arrays))
    unknown = sorted(set(arrays) - known)
    if missing or unknown or not any(k.startswith(OUTPUTS_PREFIX) for k in arrays):
        problems = [f"missing {', '.join(missing)}" if missing else "",
                    f"unknown {', '.join(unknown)}" if unknown else "",
                    "no outputs/<name> array" if not any(k.startswith(OUTPUTS_PREFIX)
                                                         for k in arrays) else ""]
        raise BadDataset(f"{path}: {'; '.join(p for p in problems if p)}; an evaluation set "
                         f"holds {example} (numpy.savez(path, **{{'inputs/<name>': x, ...}}))")
    if ANSWERS in arrays:
        _check_answers(path, arrays[ANSWERS])
    rows = {k: len(v) if v.ndim else 0 for k, v in arrays.items()}
    if len(set(rows.values())) != 1 or 0 in rows.values():
        shown = ", ".join(f"{k}: {n}" for k, n in rows.items())
        raise BadDataset(f"{path}: every array needs the same number of rows ({shown})")
    return next(iter(rows.values()))


def _check_answers(path: Path, answers: np.ndarray) -> None:
    if answers.dtype.kind != "U" or answers.ndim != 1:
        raise BadDataset(f"{path}: {ANSWERS} must be a 1-D array of JSON strings (one per row), "
                         f"not {answers.dtype} {list(answers.shape)}")
    for i, text in enumerate(answers.tolist()):
        try:
            json.loads(text)
        except ValueError as exc:
            raise BadDataset(f"{path}: {ANSWERS}[{i}] is not JSON ({exc})") from None
