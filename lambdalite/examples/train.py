"""Train the MNIST example model and write everything ``make demo`` needs.

``lambdalite train --out lambdalite/examples/mnist`` (the bundled example) writes::

    OUT/model/            saved_model/, mnist.keras, <variant>.tflite x4, manifest.json
    OUT/eval.npz          the held-out split: x uint8 (N, 28, 28, 1), y int64
    OUT/digits/           real held-out digits as PNG (<label>_<n>.png) and two JPEGs
    OUT/events/event.json an API Gateway REST proxy event carrying one PNG digit

Seeds are fixed (data split, augmentation, weights, op determinism), so a re-run on
the same machine and TensorFlow version gives the same model.
"""

from __future__ import annotations

import base64
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lambdalite import progress as progress_
from lambdalite.conversion.evaluate import EvaluationReport
from lambdalite.conversion.execute import ConvertResult
from lambdalite.conversion.pipeline import EvaluateOptions, convert, evaluate
from lambdalite.conversion.plan import ConvertOptions
from lambdalite.examples.mnist_data import MnistSplit, load_mnist

LABELS = tuple(str(d) for d in range(10))
SEED = 7
SHIFT = 2  # augmentation: random translation of up to +-2 pixels
DIGITS_PER_CLASS = 2
JPEG_DIGITS = (3, 7)  # classes that also get a JPEG sample
EVENT_DIGIT = 7
TARGET_ACCURACY = 0.97  # the target for the held-out split


@dataclass(frozen=True)
class TrainSettings:
    out: Path
    epochs: int = 10
    batch_size: int = 64
    seed: int = SEED
    cache: Path | None = None


@dataclass(frozen=True)
class TrainResult:
    params: int
    keras_accuracy: float
    model_dir: Path
    conversion: ConvertResult
    evaluation: EvaluationReport


STAGES = 4  # progress units besides the epochs: data, save, convert, evaluate


def shortfalls(keras_accuracy: float, evaluation: EvaluationReport) -> tuple[str, ...]:
    """Why a training run does not meet its targets (empty: it does)."""
    missed = (
        []
        if keras_accuracy >= TARGET_ACCURACY
        else [f"held-out accuracy {keras_accuracy:.4f} is below the {TARGET_ACCURACY:.2f} target"]
    )
    return (*missed, *evaluation.flag_messages())


def build_model(keras: Any) -> Any:
    """About 122k parameters: two conv blocks and a small dense head."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_cnn",
    )


def shifted(x: np.ndarray, rng: np.random.Generator, limit: int = SHIFT) -> np.ndarray:
    """A copy of ``x`` with each digit rolled by a random (dy, dx) in [-limit, limit].

    MNIST digits have a black border of at least 2-3 pixels, so rolling never wraps ink.
    """
    out = np.empty_like(x)
    moves = rng.integers(-limit, limit + 1, size=(len(x), 2))
    for i, (dy, dx) in enumerate(moves):
        out[i] = np.roll(x[i], (int(dy), int(dx)), axis=(0, 1))
    return out


def train(settings: TrainSettings, *, progress: progress_.Progress | None = None
          ) -> TrainResult:
    """One unit of ``progress`` per epoch and per stage (data, save, convert, evaluate)."""
    shown = progress_.resolve(progress)
    shown.total(settings.epochs + STAGES)
    with progress_.step(shown, "fetching digits"):
        split = load_mnist(settings.cache)
    out = settings.out
    model_dir = out / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    model, accuracy = fit(split, settings, shown)
    with progress_.step(shown, "saving model"):
        save_model(model, model_dir)
        write_examples(split, out)
    with progress_.step(shown, "converting"):
        conversion = convert_model(model_dir, split, progress_.nested(shown))
    with progress_.step(shown, "evaluating"):
        evaluation = evaluate(EvaluateOptions(model_dir, out / "eval.npz", write=True),
                              progress=progress_.nested(shown)).report
    return TrainResult(model.count_params(), accuracy, model_dir, conversion, evaluation)


def fit(split: MnistSplit, settings: TrainSettings, progress: progress_.Progress
        ) -> tuple[Any, float]:
    from lambdalite.function.backends.tf import import_tensorflow

    tf = import_tensorflow()  # deferred: TensorFlow is only needed here
    import keras

    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(settings.seed)
    x = np.concatenate([split.x_train, shifted(split.x_train, rng)]).astype("float32") / 255.0
    y = np.concatenate([split.y_train, split.y_train])
    x_test = split.x_test.astype("float32") / 255.0
    model = build_model(keras)
    # Objects, not strings: Keras 3.15 on TF 2.21 fails on compile("adam", ..., ["accuracy"]).
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    params = f"{model.count_params():,} params"
    progress.update(f"training ({params})")

    class Epochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            got = logs or {}
            progress.update(f"training ({params}): epoch {epoch + 1}/{settings.epochs}, acc "
                            f"{got.get('accuracy', 0):.4f} val {got.get('val_accuracy', 0):.4f}",
                            1)

    model.fit(
        x,
        y,
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        validation_data=(x_test, split.y_test),
        shuffle=True,
        verbose=0,
        callbacks=[Epochs()],
    )
    _, accuracy = model.evaluate(x_test, split.y_test, verbose=0)
    return model, float(accuracy)


def save_model(model: Any, model_dir: Path) -> None:
    """``saved_model/`` (TF Serving signature, ``tf.saved_model.load`` serves it) and ``.keras``."""
    import keras  # deferred

    # A freshly built, never compiled copy drops the optimizer state (2/3 of the .keras
    # file); keras.models.clone_model keeps it.
    clean = build_model(keras)
    clean.set_weights(model.get_weights())
    clean.export(str(model_dir / "saved_model"), verbose=False)
    clean.save(model_dir / "mnist.keras")


def convert_model(model_dir: Path, split: MnistSplit,
                  progress: progress_.Progress | None = None) -> ConvertResult:
    source = model_dir / "saved_model"
    with tempfile.TemporaryDirectory() as tmp:
        calibration = Path(tmp) / "calibration.npz"
        np.savez(calibration, x=split.x_train, y=split.y_train)
        options = ConvertOptions(
            model=source,
            out=model_dir,
            calibration=calibration,
            labels=LABELS,
            name="mnist",
            color="L",
            scale=1.0 / 255.0,
            offset=0.0,
            output_activation="softmax",
            keep_tf_model=True,
        )
        return convert(options, progress=progress)


def write_examples(split: MnistSplit, out: Path) -> None:
    np.savez_compressed(out / "eval.npz", x=split.x_test, y=split.y_test.astype(np.int64))
    digits = out / "digits"
    digits.mkdir(exist_ok=True)
    for label in range(10):
        idx = np.flatnonzero(split.y_test == label)
        for n in range(DIGITS_PER_CLASS):
            (digits / f"{label}_{n}.png").write_bytes(_image_bytes(split.x_test[idx[n]], "PNG"))
        if label in JPEG_DIGITS:
            n = DIGITS_PER_CLASS
            (digits / f"{label}_{n}.jpg").write_bytes(_image_bytes(split.x_test[idx[n]], "JPEG"))
    events = out / "events"
    events.mkdir(exist_ok=True)
    png = (digits / f"{EVENT_DIGIT}_0.png").read_bytes()
    (events / "event.json").write_text(json.dumps(api_gateway_event(png), indent=2) + "\n")


def _image_bytes(pixels: np.ndarray, fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    # White digit on black, as MNIST is; JPEG at high quality so the digit survives.
    Image.fromarray(pixels[..., 0], "L").save(
        buf, fmt, **({"quality": 95} if fmt == "JPEG" else {})
    )
    return buf.getvalue()


def api_gateway_event(png: bytes, resource: str = "/classify_digit") -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, shaped like the AWS SAM ML template's events/event.json."""
    headers = {
        "Accept": "application/json",
        "Content-Type": "image/png",
        "Host": "1234567890.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "Custom User Agent String",
        "X-Forwarded-Proto": "https",
    }
    return {
        "body": base64.b64encode(png).decode("ascii"),
        "resource": resource,
        "path": resource,
        "httpMethod": "POST",
        "isBase64Encoded": True,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "123456",
            "stage": "Prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTime": "09/Apr/2015:12:34:56 +0000",
            "requestTimeEpoch": 1428582896000,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "Custom User Agent String"},
            "path": f"/Prod{resource}",
            "resourcePath": resource,
            "httpMethod": "POST",
            "apiId": "1234567890",
            "protocol": "HTTP/1.1",
        },
    }
