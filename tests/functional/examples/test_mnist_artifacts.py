"""The committed MNIST artifacts are what `lambdalite train` writes, and they serve correctly."""

from __future__ import annotations

import base64
import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from lambdalite.conversion.data import Dataset, model_input
from lambdalite.conversion.evaluate import predict
from lambdalite.conversion.schema import schema_errors
from lambdalite.examples import mnist_example
from lambdalite.manifest import VARIANTS, Manifest

EXAMPLE = mnist_example()
MODEL = EXAMPLE / "model"


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return Manifest.load(MODEL)


def test_manifest_is_valid_and_files_match_it(manifest: Manifest) -> None:
    assert schema_errors(json.loads((MODEL / "manifest.json").read_text())) == []
    assert tuple(manifest.variants) == VARIANTS
    for v in manifest.variants.values():
        blob = (MODEL / v.file).read_bytes()
        assert (len(blob), hashlib.sha256(blob).hexdigest()) == (v.size_bytes, v.sha256)
        assert v.size_bytes < 600_000  # small enough to commit
    assert manifest.model.tf_model == "saved_model"
    assert (MODEL / "saved_model" / "saved_model.pb").is_file()
    assert (MODEL / "mnist.keras").is_file()
    assert manifest.outputs[0].labels == [str(d) for d in range(10)]
    assert manifest.preprocessing.scale == pytest.approx(1 / 255)


def test_recorded_evaluation_is_reproduced_and_meets_the_target(manifest: Manifest) -> None:
    with np.load(EXAMPLE / "eval.npz") as data:
        x, y = data["x"], data["y"]
    assert x.dtype == np.uint8 and x.shape == (1500, 28, 28, 1)
    assert np.bincount(y).min() >= 120  # stratified: every digit is in the held-out set
    inputs = model_input(Dataset("eval.npz", pixels=x, labels=y), manifest.preprocessing)
    reference = manifest.variants["float32"].evaluation
    assert reference is not None and reference.accuracy is not None
    assert reference.accuracy >= 0.97
    for name, v in manifest.variants.items():
        top1, _ = predict(MODEL / v.file, inputs)
        recorded = v.evaluation
        assert recorded is not None and recorded.examples == len(y)
        assert float(np.mean(top1 == y)) == pytest.approx(recorded.accuracy), name
        assert abs(reference.accuracy - float(np.mean(top1 == y))) * 100 <= 0.5, name


def test_sample_digits_and_event_are_recognised(manifest: Manifest) -> None:
    files = sorted((EXAMPLE / "digits").iterdir())
    labels = np.array([int(p.name.split("_")[0]) for p in files])
    inputs = model_input(Dataset("digits", images=tuple(files)), manifest.preprocessing)
    top1, _ = predict(MODEL / "float32.tflite", inputs)
    assert np.mean(top1 == labels) >= 0.9
    event = json.loads((EXAMPLE / "events" / "event.json").read_text())
    png = base64.b64decode(event["body"])
    assert png == (EXAMPLE / "digits" / "7_0.png").read_bytes()
    with Image.open(EXAMPLE / "digits" / "7_0.png") as img:
        assert img.size == (28, 28)


@pytest.mark.tf
def test_tf_models_are_the_same_small_model(manifest: Manifest) -> None:
    tf = pytest.importorskip("tensorflow")
    import keras

    from lambdalite.examples.train import build_model

    assert build_model(keras).count_params() <= 200_000
    with np.load(EXAMPLE / "eval.npz") as data:
        x = data["x"][:64].astype(np.float32) / 255.0
    tflite = _float32_probs(x)
    from_keras = keras.models.load_model(MODEL / "mnist.keras", compile=False).predict(x, verbose=0)
    serving = tf.saved_model.load(str(MODEL / "saved_model")).signatures["serving_default"]
    from_saved = next(iter(serving(tf.constant(x)).values())).numpy()
    np.testing.assert_allclose(from_keras, tflite, atol=1e-5)
    np.testing.assert_allclose(from_saved, tflite, atol=1e-5)


def _float32_probs(x: np.ndarray) -> np.ndarray:
    from lambdalite.conversion.tflite_info import open_interpreter

    it = open_interpreter(MODEL / "float32.tflite")
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    it.resize_tensor_input(inp["index"], list(x.shape))
    it.allocate_tensors()
    it.set_tensor(inp["index"], x)
    it.invoke()
    return np.asarray(it.get_tensor(out["index"]))
