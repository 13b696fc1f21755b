"""CLI mistakes fail fast with the right exit code, before TensorFlow is imported."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lambdalite.cli import main
from lambdalite.conversion.cli import read_labels
from lambdalite.conversion.errors import UsageError
from lambdalite.conversion.formats import KERAS_MAGIC


@pytest.fixture
def keras_file(tmp_path: Path) -> Path:
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as z:  # a complete zip: passes detection, not a model
        z.writestr("config.json", "{}")
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_unknown_format_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"onnx")
    code, err = _run(["convert", str(model), "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "unknown model format '.onnx'" in err
    assert not (tmp_path / "out").exists()


def test_corrupt_keras_file_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.keras"
    model.write_bytes(b"truncated")
    code, err = _run(["convert", str(model), "--out", str(tmp_path / "out")], capsys)
    assert (code, "corrupt or truncated" in err) == (3, True)


def test_truncated_keras_zip_says_so_before_tensorflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = tmp_path / "whole.keras"
    with zipfile.ZipFile(whole, "w") as z:
        z.writestr("config.json", "{}" * 500)
    model = tmp_path / "m.keras"
    model.write_bytes(whole.read_bytes()[:-40])  # the zip directory is at the end: cut off
    assert model.read_bytes().startswith(KERAS_MAGIC)
    code, err = _run(["convert", str(model), "--out", str(tmp_path / "out")], capsys)
    assert code == 3
    assert "truncated or corrupt .keras file" in err and "File not found" not in err


def test_saved_model_pb_file_asks_for_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"")
    code, err = _run(["convert", str(folder / "saved_model.pb"), "--out", str(tmp_path)], capsys)
    assert code == 2
    assert "pass the folder holding saved_model.pb" in err and str(folder) in err


def test_evaluate_unsupported_data_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "x.bin"
    data.write_bytes(b"\x00" * 16)
    code, err = _run(["evaluate", str(tmp_path), "--data", str(data)], capsys)
    assert code == 2
    assert "neither an .npz" in err


def test_int8_without_calibration_exits_2(
    keras_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(
        ["convert", str(keras_file), "--out", str(tmp_path / "o"), "--variants", "int8"], capsys
    )
    assert code == 2
    assert "int8 variant needs calibration data" in err and "--calibration" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--variants", "float32,bf16"], "unknown variant(s) bf16"),
        (["--size", "28by28"], "expected HxW"),
        (["--int8-io", "int16"], "'int16' is not one of 'int8', 'uint8'"),
    ],
)
def test_bad_flags_exit_2(
    keras_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    message: str,
) -> None:
    code, err = _run(["convert", str(keras_file), "--out", str(tmp_path / "o"), *flags], capsys)
    assert code == 2
    assert message in err


def test_evaluate_without_manifest_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.npz"
    data.write_bytes(b"")
    code, err = _run(["evaluate", str(tmp_path), "--data", str(data)], capsys)
    assert code == 3
    assert "no manifest" in err and "lambdalite convert" in err


def test_evaluate_refuses_a_negative_tolerance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.npz"
    data.write_bytes(b"")
    code, _ = _run(["evaluate", str(tmp_path), "--data", str(data), "--tolerance", "-1"], capsys)
    assert code == 2


def test_flag_mistakes_do_not_import_tensorflow(keras_file: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from lambdalite.cli import main\n"
        f"rc = main(['convert', {str(keras_file)!r}, '--out', {str(tmp_path / 'o')!r},"
        " '--variants', 'int8'])\n"
        "print('RC', rc, 'TF', 'tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "RC 2 TF False" in out.stdout


def test_labels_one_per_line_or_json(tmp_path: Path) -> None:
    lines = tmp_path / "labels.txt"
    lines.write_text("cat\n\ndog\n")
    assert read_labels(lines) == ("cat", "dog")
    js = tmp_path / "labels.json"
    js.write_text(json.dumps(["a", 1]))
    assert read_labels(js) == ("a", "1")
    assert read_labels(None) is None


@pytest.mark.parametrize(
    ("text", "message"), [("[1, 2", "not a valid JSON list"), ("\n\n", "holds no labels")]
)
def test_bad_labels_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "labels.txt"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        read_labels(path)
