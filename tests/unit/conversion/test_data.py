"""Calibration / evaluation data: .npz with x (and y) or a folder of images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lambdalite.conversion.data import (
    calibration_sample,
    check_evaluation_set,
    load_dataset,
    model_input,
)
from lambdalite.conversion.errors import BadDataset, UnsupportedData
from lambdalite.manifest import InputSpec, OutputSpec, Preprocessing

GRAY28 = Preprocessing(color_mode="L", height=28, width=28, scale=1 / 255)


def _digit(value: int, size: int = 28) -> np.ndarray:
    return np.full((size, size), value, dtype=np.uint8)


def test_npz_with_x_and_y(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.stack([_digit(0), _digit(255)]), y=np.array([3, 7]))
    data = load_dataset(path)
    assert len(data) == 2 and data.labels is not None
    assert data.labels.tolist() == [3, 7] and data.labels.dtype == np.int64
    x = model_input(data, GRAY28)
    assert x.shape == (2, 28, 28, 1) and x.dtype == np.float32
    assert x[0].max() == 0.0 and x[1].min() == pytest.approx(1.0)


def test_npz_without_y_has_no_labels(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((3, 28, 28, 1), np.uint8))
    assert load_dataset(path).labels is None


def test_npz_pixels_of_another_size_are_resized_like_the_function_does(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.full((2, 56, 56, 3), 255, np.uint8))
    x = model_input(load_dataset(path), GRAY28)
    assert x.shape == (2, 28, 28, 1)
    assert np.allclose(x, 1.0)


def test_scale_and_offset_and_nchw(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.full((1, 4, 4, 3), 100, np.uint8))
    pre = Preprocessing(color_mode="RGB", height=4, width=4, scale=0.5, offset=-1.0, layout="NCHW")
    x = model_input(load_dataset(path), pre)
    assert x.shape == (1, 3, 4, 4) and np.allclose(x, 49.0)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"images": np.zeros((2, 28, 28))}, "no `x` array.*images"),
        ({"x": np.zeros((2, 784))}, r"expected \(N, H, W\[, C\]\)"),
        ({"x": np.zeros((2, 28, 28)), "y": np.zeros(3)}, r"`y` has shape \(3,\)"),
    ],
)
def test_bad_npz(tmp_path: Path, arrays: dict[str, np.ndarray], message: str) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    with pytest.raises(BadDataset, match=message):
        load_dataset(path)


def test_corrupt_npz(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(BadDataset, match="cannot read"):
        load_dataset(path)


def test_unknown_data_file(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("1,2")
    with pytest.raises(UnsupportedData, match="neither an .npz") as info:
        load_dataset(path)
    assert info.value.exit_code == 2  # a usage mistake, not a broken model


def _save(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_digit(value, 14)).save(path)


def test_folder_with_numbered_label_subfolders(tmp_path: Path) -> None:
    _save(tmp_path / "0" / "a.png", 0)
    _save(tmp_path / "1" / "b.png", 255)
    _save(tmp_path / "1" / "c.jpg", 255)
    (tmp_path / "1" / "notes.txt").write_text("ignored")
    data = load_dataset(tmp_path)
    assert data.labels is not None and data.labels.tolist() == [0, 1, 1]
    x = model_input(data, GRAY28)
    assert x.shape == (3, 28, 28, 1)
    assert x[0].max() == 0.0 and x[1].min() == pytest.approx(1.0)


def test_label_subfolders_named_after_the_manifest_labels(tmp_path: Path) -> None:
    _save(tmp_path / "dog" / "a.png", 0)
    _save(tmp_path / "cat" / "b.png", 0)
    data = load_dataset(tmp_path, labels=("cat", "dog"))
    assert data.labels is not None
    assert dict(zip((p.parent.name for p in data.images), data.labels.tolist(), strict=True)) == {
        "cat": 0,
        "dog": 1,
    }


def test_unknown_label_folder_says_how_to_fix(tmp_path: Path) -> None:
    _save(tmp_path / "dog" / "a.png", 0)
    with pytest.raises(BadDataset, match="pass --labels FILE"):
        load_dataset(tmp_path)


def test_loose_images_have_no_labels(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", 10)
    _save(tmp_path / "b.png", 20)
    data = load_dataset(tmp_path)
    assert len(data) == 2 and data.labels is None


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(BadDataset, match="holds no images"):
        load_dataset(tmp_path)


def test_unreadable_image(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(BadDataset, match="cannot read image"):
        model_input(load_dataset(tmp_path), GRAY28)


def test_calibration_sample_is_spread_and_deterministic(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((100, 2, 2), np.uint8), y=np.arange(100))
    data = load_dataset(path)
    sample = calibration_sample(data, 5)
    assert sample.labels is not None and sample.labels.tolist() == [0, 25, 50, 74, 99]
    assert calibration_sample(data, 500) is data


def test_an_evaluation_set_may_carry_answers_as_json_strings(tmp_path: Path) -> None:
    inputs, outputs = [InputSpec("x", "float32", [-1, 2])], [OutputSpec("y", "float32", [-1, 1])]
    x, y = np.zeros((2, 2), np.float32), np.zeros((2, 1), np.float32)
    good = tmp_path / "good.npz"
    np.savez(good, **{"inputs/x": x, "outputs/y": y,
                      "answers": np.array(['{"secret": "a"}', '{"secret": null}'])})
    assert check_evaluation_set(good, inputs, outputs) == 2
    for name, answers, message in [
        ("ints", np.array([1, 2]), "answers must be a 1-D array of JSON strings"),
        ("text", np.array(['{"a": 1}', "not json"]), r"answers\[1\] is not JSON"),
        ("short", np.array(['{"a": 1}']), "every array needs the same number of rows"),
    ]:
        path = tmp_path / f"{name}.npz"
        np.savez(path, **{"inputs/x": x, "outputs/y": y, "answers": answers})
        with pytest.raises(BadDataset, match=message):
            check_evaluation_set(path, inputs, outputs)
