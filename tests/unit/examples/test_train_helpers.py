"""The MNIST example's helpers that need no TensorFlow: augmentation, sample files, the event."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from lambdalite.examples.mnist_data import MnistSplit
from lambdalite.examples.train import EVENT_DIGIT, JPEG_DIGITS, shifted, write_examples


def _split(per_class: int = 4) -> MnistSplit:
    y = np.repeat(np.arange(10), per_class)
    x = np.zeros((len(y), 28, 28, 1), np.uint8)
    for i, label in enumerate(y):
        x[i, 10:18, 10 + label % 3 : 14 + label % 3] = 25 * (label + 1)  # ink away from the border
    return MnistSplit(x, y, x.copy(), y.copy())


def test_shift_moves_ink_without_losing_any() -> None:
    split = _split()
    moved = shifted(split.x_train, np.random.default_rng(0))
    assert moved.shape == split.x_train.shape and moved.dtype == np.uint8
    assert np.array_equal(moved.sum(axis=(1, 2, 3)), split.x_train.sum(axis=(1, 2, 3)))
    assert not np.array_equal(moved, split.x_train)
    again = shifted(split.x_train, np.random.default_rng(0))
    assert np.array_equal(moved, again)


def test_write_examples_makes_eval_set_digits_and_event(tmp_path: Path) -> None:
    split = _split()
    write_examples(split, tmp_path)
    with np.load(tmp_path / "eval.npz") as data:
        assert np.array_equal(data["x"], split.x_test) and data["y"].dtype == np.int64
    pngs = sorted(p.name for p in (tmp_path / "digits").glob("*.png"))
    jpgs = sorted(p.name for p in (tmp_path / "digits").glob("*.jpg"))
    assert len(pngs) == 20 and pngs[0] == "0_0.png"
    assert jpgs == [f"{d}_2.jpg" for d in JPEG_DIGITS]
    first = np.flatnonzero(split.y_test == 4)[0]
    with Image.open(tmp_path / "digits" / "4_0.png") as img:
        assert img.mode == "L" and np.array_equal(np.asarray(img), split.x_test[first, ..., 0])
    event = json.loads((tmp_path / "events" / "event.json").read_text())
    assert event["httpMethod"] == "POST" and event["isBase64Encoded"] is True
    assert event["headers"]["Content-Type"] == "image/png"
    body = base64.b64decode(event["body"])
    assert body == (tmp_path / "digits" / f"{EVENT_DIGIT}_0.png").read_bytes()
    with Image.open(io.BytesIO(body)) as img:
        assert img.size == (28, 28)
