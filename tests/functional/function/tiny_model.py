"""Build a tiny, trained image classifier and its model folder, like `lambdalite convert` makes.

Run as a script (``python tiny_model.py OUT [OUT_FIXED]``; the second folder gets the
same weights with a fixed batch dimension of 1) so TensorFlow loads in a
child process, never in the test process. Class k is a bright horizontal band at rows
2k+4..2k+6 of a 28x28 grayscale image: learnable in a second, and every variant
(float32, dynamic, float16, int8) must agree on it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from lambdalite.conversion.assemble import read_interface, variant_record
from lambdalite.conversion.tflite_info import open_interpreter
from lambdalite.manifest import (
    InputSpec,
    Manifest,
    ModelInfo,
    OutputSpec,
    Preprocessing,
    Source,
    Variant,
    logical_shape,
)

CLASSES = 10


def band_image(k: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """uint8 (28, 28): the picture of class k, with a little noise when rng is given."""
    img = np.zeros((28, 28), np.float32)
    img[2 * k + 4 : 2 * k + 6, 4:24] = 255.0
    if rng is not None:
        img += rng.normal(0, 20, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n)
    x = np.stack([band_image(int(k), rng) for k in y])[..., None].astype(np.float32) / 255.0
    return x, y


def build(out: Path, fixed_out: Path | None = None) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    x, y = _data(2000, 0)
    model = _model(keras, batch_size=None)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    model.export(str(out / "saved_model"), verbose=False)
    _convert(tf, model, x, out, "saved_model")
    if fixed_out is not None:
        fixed = _model(keras, batch_size=1)
        fixed.set_weights(model.get_weights())
        fixed_out.mkdir(parents=True, exist_ok=True)
        _convert(tf, fixed, x, fixed_out, None)


def _convert(tf, model, x: np.ndarray, out: Path, tf_model: str | None) -> None:
    def converter() -> tf.lite.TFLiteConverter:
        return tf.lite.TFLiteConverter.from_keras_model(model)

    def representative():
        for i in range(100):
            yield [x[i : i + 1]]

    variants = {}
    for name in ("float32", "dynamic", "float16", "int8"):
        c = converter()
        if name != "float32":
            c.optimizations = [tf.lite.Optimize.DEFAULT]
        if name == "float16":
            c.target_spec.supported_types = [tf.float16]
        if name == "int8":
            c.representative_dataset = representative
            c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            c.inference_input_type = tf.int8
            c.inference_output_type = tf.int8
        blob = c.convert()
        path = out / f"{name}.tflite"
        path.write_bytes(blob)
        variants[name] = _variant(name, path)

    reference = variants["float32"]
    manifest = Manifest(
        model=ModelInfo(
            name="tiny-bands",
            source=Source(path="model.keras", format="keras"),
            tf_version=tf.__version__,
            tf_model=tf_model,
        ),
        inputs=[InputSpec(
            reference.inputs[0].logical, "float32", logical_shape(reference.inputs[0].shape),
            "image", Preprocessing(color_mode="L", height=28, width=28, scale=1 / 255.0),
        )],
        outputs=[OutputSpec(
            reference.outputs[0].logical, "float32", logical_shape(reference.outputs[0].shape),
            "classes", "softmax", [str(i) for i in range(CLASSES)],
        )],
        variants=variants,
    )
    manifest.save(out)


def _model(keras, batch_size: int | None):
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), batch_size=batch_size),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )


def _variant(name: str, path: Path) -> Variant:
    return variant_record(name, path, read_interface(open_interpreter(path)))


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
