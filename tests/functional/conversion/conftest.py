"""Tiny models in every input format, built once per session, and their conversions.

Class k of the tiny task (4 classes, 16x16 grayscale) is a bright band at rows
4k..4k+3: a Keras CNN learns it in a second and every variant must agree on it.
The TF1 model is a linear softmax classifier in a ``tf.compat.v1`` graph, saved by
``SavedModelBuilder`` with non-default tags and two signatures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lambdalite.cli import main

from .tiny_arch import build_tiny

SIDE = 16
CLASSES = 4
TF1_TAGS = ("edge", "serve")
HERE = Path(__file__).parent
# h5_tf_keras2: an .h5 written by tf.keras 2.x (tf_keras), like the AWS SAM template's model;
# h5: the same legacy HDF5 format written by Keras 3.
FORMATS = ("saved_model_tf2", "saved_model_tf1", "keras", "h5", "h5_tf_keras2")
SOURCE_FORMAT = {"h5_tf_keras2": "h5"}  # what the manifest records


def band_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 (N, 16, 16, 1) pixels, 0..255."""
    x = rng.normal(30, 20, (len(labels), SIDE, SIDE))
    for i, k in enumerate(labels):
        x[i, 4 * k : 4 * k + 3, 2:14] += 200
    return np.clip(x, 0, 255).astype(np.uint8)[..., None]


@dataclass(frozen=True)
class Tiny:
    root: Path
    sources: dict[str, Path]  # format -> model path
    reference: dict[str, Callable[[np.ndarray], np.ndarray]]  # format -> probabilities(x01)
    calibration: Path  # .npz, x only
    eval_npz: Path  # .npz, x and y
    x_eval: np.ndarray  # uint8 pixels
    y_eval: np.ndarray
    labels_file: Path


@pytest.fixture(scope="session")
def tf() -> Any:
    return pytest.importorskip("tensorflow")


@pytest.fixture(scope="session")
def tiny(tf: Any, tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    import keras

    root = tmp_path_factory.mktemp("convert-models")
    rng = np.random.default_rng(0)
    y_train = rng.integers(0, CLASSES, 600)
    x_train = band_images(y_train, rng)
    y_eval = rng.integers(0, CLASSES, 120)
    x_eval = band_images(y_eval, rng)

    keras.utils.set_random_seed(0)
    model = build_tiny(keras, SIDE, CLASSES)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(),
    )
    model.fit(x_train / 255.0, y_train, epochs=4, batch_size=32, verbose=0)
    sources = {
        "keras": root / "tiny.keras",
        "h5": root / "tiny.h5",
        "saved_model_tf2": root / "tf2" / "saved_model",
        "saved_model_tf1": root / "tf1",
    }
    model.save(sources["keras"])
    model.save(sources["h5"])  # legacy HDF5, as the AWS SAM TensorFlow template ships
    model.export(str(sources["saved_model_tf2"]), verbose=False)
    if importlib.util.find_spec("tf_keras") is not None:  # the dev extra installs tf-keras
        sources["h5_tf_keras2"] = _save_tf_keras2_h5(model, root)
    weights, bias = _linear_fit(x_train / 255.0, y_train)
    _save_tf1(tf, sources["saved_model_tf1"], weights, bias)

    def keras_probs(x01: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(x01.astype(np.float32), verbose=0))

    calibration = root / "calibration.npz"
    np.savez(calibration, x=x_train[:100])
    eval_npz = root / "eval.npz"
    np.savez(eval_npz, x=x_eval, y=y_eval)
    labels_file = root / "labels.txt"
    labels_file.write_text("top\nupper\nlower\nbottom\n")
    return Tiny(
        root=root,
        sources=sources,
        reference={
            "keras": keras_probs,
            "h5": keras_probs,
            "h5_tf_keras2": keras_probs,
            "saved_model_tf2": keras_probs,
            "saved_model_tf1": lambda x01: _run_tf1(tf, sources["saved_model_tf1"], x01),
        },
        calibration=calibration,
        eval_npz=eval_npz,
        x_eval=x_eval,
        y_eval=y_eval,
        labels_file=labels_file,
    )


def _save_tf_keras2_h5(model: Any, root: Path) -> Path:
    weights, out = root / "weights.npz", root / "tiny_tf_keras2.h5"
    np.savez(weights, *model.get_weights())
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
    proc = subprocess.run(
        [sys.executable, str(HERE / "legacy_h5.py"), *map(str, (weights, out, SIDE, CLASSES))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def _linear_fit(x01: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares onto scaled one-hot targets: a linear classifier good enough for bands."""
    flat = x01.reshape(len(x01), -1)
    design = np.hstack([flat, np.ones((len(flat), 1))])
    target = np.eye(CLASSES)[y] * 8.0
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return coef[:-1].astype(np.float32), coef[-1].astype(np.float32)


def _save_tf1(tf: Any, path: Path, weights: np.ndarray, bias: np.ndarray) -> None:
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        x = v1.placeholder(tf.float32, [None, SIDE, SIDE, 1], name="image")
        w = v1.Variable(weights, name="w")
        b = v1.Variable(bias, name="b")
        logits = tf.matmul(tf.reshape(x, [-1, SIDE * SIDE]), w) + b
        probs = tf.nn.softmax(logits, name="probs")
        sess.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(
            sess,
            list(TF1_TAGS),
            signature_def_map={
                "classify": v1.saved_model.predict_signature_def({"image": x}, {"probs": probs}),
                "logits": v1.saved_model.predict_signature_def({"image": x}, {"logits": logits}),
            },
        )
        builder.save()


def _run_tf1(tf: Any, path: Path, x01: np.ndarray) -> np.ndarray:
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        meta = v1.saved_model.loader.load(sess, list(TF1_TAGS), str(path))
        sig = meta.signature_def["classify"]
        return np.asarray(
            sess.run(sig.outputs["probs"].name, {sig.inputs["image"].name: x01.astype(np.float32)})
        )


def convert_cli(*argv: str) -> int:
    return main(["convert", *argv])


def flags_for(fmt: str, tiny: Tiny) -> list[str]:
    if fmt == "saved_model_tf1":
        return ["--tags", ",".join(TF1_TAGS), "--signature", "classify"]
    if fmt == "keras":
        return ["--keep-tf-model", "--labels", str(tiny.labels_file)]
    return []


class Conversions:
    """format -> output folder; each format is converted at most once per session."""

    def __init__(self, tiny: Tiny) -> None:
        self.tiny = tiny
        self._done: dict[str, Path] = {}

    def __call__(self, fmt: str) -> Path:
        if fmt not in self.tiny.sources:
            pytest.skip(f"no {fmt} source: tf-keras is not installed (pip install -e '.[dev]')")
        if fmt not in self._done:
            out = self.tiny.root / f"out-{fmt}"
            code = convert_cli(
                str(self.tiny.sources[fmt]),
                "--out",
                str(out),
                "--calibration",
                str(self.tiny.calibration),
                *flags_for(fmt, self.tiny),
            )
            assert code == 0, f"convert {fmt} exited {code}"
            self._done[fmt] = out
        return self._done[fmt]


@pytest.fixture(scope="session")
def converted(tiny: Tiny) -> Conversions:
    return Conversions(tiny)


def load_manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return data
