"""An .h5 written by tf.keras 2.x (tf_keras), the AWS SAM template's kind of model file.

The file itself comes from the conftest (a real tf_keras save in a child process). Keras 3
loads most such files; one whose config Keras 3 rejects is loaded through tf_keras; one that
neither can load fails with what to do.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from lambdalite.conversion.evaluate import predict
from lambdalite.manifest import Manifest

from .conftest import Conversions, Tiny, convert_cli

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def legacy(tiny: Tiny) -> Path:
    if "h5_tf_keras2" not in tiny.sources:
        pytest.skip("tf-keras is not installed (pip install -e '.[dev]')")
    return tiny.sources["h5_tf_keras2"]


def _edited(src: Path, dest: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    shutil.copy2(src, dest)
    with h5py.File(dest, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for layer in config["config"]["layers"]:
            edit(layer)
        f.attrs["model_config"] = json.dumps(config)
    return dest


def test_the_file_has_tf_keras_2_layout(legacy: Path) -> None:
    with h5py.File(legacy, "r") as f:
        assert str(f.attrs["keras_version"]).startswith("2.")
        assert f.attrs["backend"] == "tensorflow"
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        assert "training_config" in f.attrs  # saved compiled, as trained models are
        layers = set(f["model_weights"])
        assert {"conv2d", "dense"} <= layers


def test_converts_and_matches_the_original(converted: Conversions, tiny: Tiny) -> None:
    out = converted("h5_tf_keras2")
    manifest = Manifest.load(out)
    assert manifest.model.source.format == "h5"
    x01 = tiny.x_eval.astype(np.float32) / 255.0
    got, _ = predict(out / manifest.variants["float32"].file, x01)
    assert np.array_equal(got, tiny.reference["h5_tf_keras2"](x01).argmax(axis=1))


def test_a_config_keras_3_rejects_is_loaded_through_tf_keras(
    legacy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "dynamic" is a Keras 2 layer argument; Keras 3 refuses it, tf_keras accepts it.
    def keras2_argument(layer: dict[str, Any]) -> None:
        if layer["class_name"] != "InputLayer":
            layer["config"]["dynamic"] = False

    model = _edited(legacy, tmp_path / "dynamic.h5", keras2_argument)
    code = convert_cli(str(model), "--out", str(tmp_path / "o"), "--variants", "float32")
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "o" / "float32.tflite").stat().st_size > 0


def test_unloadable_legacy_file_names_the_fix(
    legacy: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unknown(layer: dict[str, Any]) -> None:
        if layer["class_name"] == "Dense":
            layer["class_name"] = "NoSuchLayer"

    model = _edited(legacy, tmp_path / "unknown.h5", unknown)
    code = convert_cli(str(model), "--out", str(tmp_path / "o"))
    err = capsys.readouterr().err
    assert code == 3
    assert "neither Keras 3 nor tf_keras could load" in err and "NoSuchLayer" in err
    assert "using config=" not in err  # Keras's whole config dump is left out
    # Where tf-keras is not installed, the message says to install it.
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "tf_keras" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    code = convert_cli(str(model), "--out", str(tmp_path / "o"))
    err = " ".join(capsys.readouterr().err.split())
    assert code == 3
    assert "written by tf.keras 2." in err and "install tf-keras matching your TensorFlow" in err
