"""Models that are not image classifiers, built with TensorFlow once per session (seeded, small,
untrained: the tests compare the function with the Keras model itself, not with labels).

    signal      1-D signal of any length:  signal float32 [-1, -1, 1]  -> 3 classes (softmax)
    tabular     features float32 [-1, 8]                                -> value [-1, 1] (linear)
    multi_in    pixels [-1, 12, 12, 1] image, meta float32 [-1, 4],
                category int32 [-1, 1]                                  -> 5 classes (softmax)
    multi_out   x float32 [-1, 6] -> probs [-1, 4] softmax, flags [-1, 8] sigmoid,
                embedding [-1, 5] linear

Each is saved as ``.keras`` (and the signal model also as a SavedModel) and converted with
``lambdalite.convert`` into its own folder.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lambdalite.conversion.pipeline import convert
from lambdalite.conversion.plan import ConvertOptions
from lambdalite.function.app import App, create_app
from lambdalite.function.config import FunctionConfig

pytestmark = pytest.mark.tf


@dataclass(frozen=True)
class Built:
    source: Path                              # the .keras file
    out: Path                                 # the converted model folder
    keras: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]  # the model itself


def _keras_call(model: Any, names: list[str]) -> Callable[[dict[str, np.ndarray]],
                                                         dict[str, np.ndarray]]:
    def call(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = model(inputs if len(inputs) > 1 else next(iter(inputs.values())),
                       training=False)
        if isinstance(result, dict):
            return {k: np.asarray(v) for k, v in result.items()}
        return {names[0]: np.asarray(result)}

    return call


# What each model is converted with (beyond the defaults).
OPTIONS: dict[str, dict[str, Any]] = {
    "multi_out": {"output_kinds": {"flags": "bits"}},
    "signal": {"labels": ("low", "mid", "high")},
}


class Models:
    """name -> Built, each made at most once per session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._done: dict[str, Built] = {}

    def __call__(self, name: str) -> Built:
        if name not in self._done:
            import keras

            keras.utils.set_random_seed(7)
            model, outputs = getattr(self, f"_{name}")(keras)
            source = self.root / f"{name}.keras"
            model.save(source)
            out = self.root / f"out-{name}"
            convert(ConvertOptions(model=source, out=out, variants=("float32",),
                                   **OPTIONS.get(name, {})))
            self._done[name] = Built(source, out, _keras_call(model, outputs))
        return self._done[name]

    @staticmethod
    def _signal(keras: Any) -> tuple[Any, list[str]]:
        inp = keras.Input((None, 1), name="signal")
        x = keras.layers.Conv1D(4, 5, padding="same", activation="relu")(inp)
        x = keras.layers.GlobalAveragePooling1D()(x)
        return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x)), ["output_0"]

    @staticmethod
    def _tabular(keras: Any) -> tuple[Any, list[str]]:
        inp = keras.Input((8,), name="features")
        x = keras.layers.Dense(16, activation="relu")(inp)
        return keras.Model(inp, keras.layers.Dense(1)(x)), ["output_0"]

    @staticmethod
    def _multi_in(keras: Any) -> tuple[Any, list[str]]:
        pixels = keras.Input((12, 12, 1), name="pixels")
        meta = keras.Input((4,), name="meta")
        category = keras.Input((1,), name="category", dtype="int32")
        a = keras.layers.Flatten()(keras.layers.Conv2D(2, 3, activation="relu")(pixels))
        b = keras.layers.Flatten()(keras.layers.Embedding(10, 3)(category))
        x = keras.layers.Concatenate()([a, meta, b])
        probs = keras.layers.Dense(5, activation="softmax")(x)
        return keras.Model([pixels, meta, category], probs), ["output_0"]

    @staticmethod
    def _multi_out(keras: Any) -> tuple[Any, list[str]]:
        inp = keras.Input((6,), name="x")
        h = keras.layers.Dense(12, activation="relu")(inp)
        outputs = {
            "probs": keras.layers.Dense(4, activation="softmax")(h),
            "flags": keras.layers.Dense(8, activation="sigmoid")(h),
            "embedding": keras.layers.Dense(5)(h),
        }
        return keras.Model(inp, outputs), sorted(outputs)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    pytest.importorskip("tensorflow")
    return Models(tmp_path_factory.mktemp("anymodel"))


@pytest.fixture(scope="session")
def serve() -> Callable[..., App]:
    def make(model_dir: Path, stream: io.StringIO | None = None, **overrides: Any) -> App:
        config = FunctionConfig(model_dir=model_dir, **overrides)
        return create_app(config, stream=stream if stream is not None else io.StringIO())

    return make


def npy_b64(array: np.ndarray) -> str:
    import base64

    buf = io.BytesIO()
    np.save(buf, array)
    return base64.b64encode(buf.getvalue()).decode()


@dataclass(frozen=True)
class TfliteFiles:
    """.tflite files made with TensorFlow's converter, as a user brings them."""

    files: dict[str, Path]      # float32 / dynamic / float16 / int8 of one dense model
    dense: Callable[[np.ndarray], np.ndarray]  # that model, by Keras
    no_signature: Path          # a TF1 graph converted from a session: tensor names, no keys
    multi_out: Path             # the multi_out model's float32 file
    x: np.ndarray               # example inputs for the dense model (float32 [N, 32])


@pytest.fixture(scope="session")
def tflite_files(models: Models, tmp_path_factory: pytest.TempPathFactory) -> TfliteFiles:
    import keras
    import tensorflow as tf

    root = tmp_path_factory.mktemp("tflite")
    keras.utils.set_random_seed(11)
    # 32x64 weights: over the 1024 elements dynamic-range quantization leaves alone.
    dense = keras.Sequential([keras.Input((32,), name="features"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(2)])
    x = np.random.default_rng(5).normal(size=(64, 32)).astype(np.float32)

    def representative() -> Any:
        for i in range(len(x)):
            yield [x[i : i + 1]]

    files = {}
    for variant in ("float32", "dynamic", "float16", "int8"):
        converter = tf.lite.TFLiteConverter.from_keras_model(dense)
        if variant != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if variant == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if variant == "int8":
            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        files[variant] = root / f"dense-{variant}.tflite"
        files[variant].write_bytes(converter.convert())

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        inp = v1.placeholder(tf.float32, [None, 3], name="x")
        out = tf.identity(tf.matmul(inp, tf.constant(np.eye(3, dtype=np.float32) * 2)) + 1.0,
                          name="y")
        no_signature = root / "no-signature.tflite"
        no_signature.write_bytes(v1.lite.TFLiteConverter.from_session(sess, [inp], [out]).convert())

    loaded = keras.models.load_model(models("multi_out").source, compile=False)
    multi_out = root / "multi-out.tflite"
    multi_out.write_bytes(tf.lite.TFLiteConverter.from_keras_model(loaded).convert())
    return TfliteFiles(files, lambda a: np.asarray(dense(a, training=False)), no_signature,
                       multi_out, x)
