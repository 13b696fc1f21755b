"""The README's path for a model that is not an image classifier, as a user runs it: a 1-D
signal model saved by Keras -> ``lambdalite convert`` -> ``lambdalite build`` ->
``lambdalite local invoke`` with a tensor event (real processes, the real awslambdaric)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.tf, pytest.mark.slow, pytest.mark.timeout(900)]

MAKE_MODEL = """
import sys
import keras
keras.utils.set_random_seed(0)
inp = keras.Input((None, 1), name="signal")
x = keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(4, 3, padding="same")(inp))
keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x)).save(sys.argv[1])
"""


def lambdalite(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lambdalite", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_a_signal_model_from_keras_file_to_a_local_invocation(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    made = subprocess.run([sys.executable, "-c", MAKE_MODEL, "signal.keras"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    (tmp_path / "labels.txt").write_text("calm\nbusy\nalarm\n")
    converted = lambdalite("convert", "signal.keras", "--out", "model", "--variants", "float32",
                           "--labels", "labels.txt", cwd=tmp_path)
    assert converted.returncode == 0, converted.stderr[-2000:]
    assert "input       signal: tensor float32 [-1, -1, 1]" in converted.stdout
    built = lambdalite("build", "--model-dir", "model", "--runtime", "python3.11", "--arch",
                       "x86_64", "--package", "zip", "--out", "build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    (tmp_path / "event.json").write_text(json.dumps(
        {"inputs": [[[0.1], [0.5], [0.9], [0.2]], [[0.0], [0.0], [0.0], [1.0]]], "top_k": 1}))
    invoked = lambdalite("local", "invoke", "-t", "build/template.yaml", "-e", "event.json",
                         cwd=tmp_path)
    assert invoked.returncode == 0, invoked.stderr[-2000:]
    predictions = json.loads(invoked.stdout)["predictions"]
    assert len(predictions) == 2
    for p in predictions:
        assert p["label"] == ["calm", "busy", "alarm"][p["predicted_label"]]
        assert p["top_k"][0]["index"] == p["predicted_label"]
    (tmp_path / "bad.json").write_text(json.dumps({"inputs": [[0.1, 0.5]]}))
    refused = lambdalite("local", "invoke", "-t", "build/template.yaml", "-e", "bad.json",
                         cwd=tmp_path)
    error = json.loads(refused.stdout)
    assert error["errorType"] == "InvalidInput"
    assert "the input signal takes float32 [-1, -1, 1]" in error["errorMessage"]
