"""Format detection looks at the file system only: no TensorFlow, milliseconds."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from lambdalite.conversion.errors import ModelError, UnknownModelFormat, UsageError
from lambdalite.conversion.formats import HDF5_MAGIC, TFLITE_MAGIC, ModelFormat, detect_format


@pytest.mark.parametrize("name", ["saved_model.pb", "saved_model.pbtxt"])
def test_a_folder_with_saved_model_pb_is_a_saved_model(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    assert detect_format(tmp_path) is ModelFormat.SAVED_MODEL


def test_keras_file_is_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{}")
    assert detect_format(path) is ModelFormat.KERAS
    path.write_bytes(path.read_bytes()[:-10])  # truncated: zip magic, no zip directory
    with pytest.raises(ModelError, match="truncated or corrupt .keras file"):
        detect_format(path)


@pytest.mark.parametrize("name", ["saved_model.pb", "saved_model.pbtxt"])
def test_a_saved_model_file_asks_for_its_folder(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(UsageError, match=f"pass the folder holding {name}"):
        detect_format(tmp_path / name)


@pytest.mark.parametrize("suffix", [".h5", ".hdf5", ".H5"])
def test_h5_file_is_hdf5(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"m{suffix}"
    path.write_bytes(HDF5_MAGIC + b"\0" * 32)
    assert detect_format(path) is ModelFormat.H5


def test_folder_without_saved_model_pb_says_what_to_pass(tmp_path: Path) -> None:
    (tmp_path / "variables").mkdir()
    with pytest.raises(UnknownModelFormat, match="without saved_model.pb") as info:
        detect_format(tmp_path)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("name", ["model.onnx", "model.pt", "weights"])
def test_other_files_are_an_unknown_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"whatever")
    with pytest.raises(UnknownModelFormat, match=r"SavedModel folder, a Keras \.keras") as info:
        detect_format(path)
    assert info.value.exit_code == 2


def test_tflite_file_is_told_by_its_flatbuffer_identifier(tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(b"\x1c\0\0\0" + TFLITE_MAGIC + b"\0" * 16)
    assert detect_format(path) is ModelFormat.TFLITE
    path.write_bytes(b"whatever, not a flatbuffer")
    with pytest.raises(ModelError, match="not a TFLite flatbuffer") as info:
        detect_format(path)
    assert info.value.exit_code == 3


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        detect_format(tmp_path / "nope.keras")


@pytest.mark.parametrize(("name", "kind"), [("m.keras", "Keras v3"), ("m.h5", "HDF5")])
def test_corrupt_file_with_the_right_suffix_is_a_model_error(
    tmp_path: Path, name: str, kind: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelError, match=f"not a valid {kind}.*corrupt or truncated") as info:
        detect_format(path)
    assert info.value.exit_code == 3


def test_empty_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "m.keras"
    path.write_bytes(b"")
    with pytest.raises(ModelError, match="corrupt or truncated"):
        detect_format(path)
