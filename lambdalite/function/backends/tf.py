"""TensorFlow backend: the original SavedModel or Keras model, for comparison with LiteRT.

Imported only when LAMBDALITE_BACKEND=tf: TensorFlow costs seconds of INIT and
hundreds of MB, which is what the LiteRT variants exist to avoid.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np

from lambdalite.errors import ModelError

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
# TensorFlow 2.21 writes its start-up chatter through absl before absl::InitializeLog(),
# which ignores TF_CPP_MIN_LOG_LEVEL: "I0000 ... cudart_stub.cc] Could not find cuda
# drivers", "E0000 ... failed call to cuInit" on every CPU-only machine (Lambda included).
_ABSL_LINE = re.compile(r"^([IWEF])\d{4} [\d:. ]+\d+ \S+:\d+\] (.*)$")
_PRE_INIT_BANNER = "WARNING: All log messages before absl::InitializeLog() is called"
_NO_GPU = ("failed call to cuInit", "Could not find cuda drivers")
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
QUIET_LOGGERS = ("tensorflow", "absl")


def import_tensorflow(environ: MutableMapping[str, str] = os.environ) -> Any:
    """``import tensorflow`` without its start-up noise; what is not noise still reaches stderr.

    ``TF_CPP_MIN_LOG_LEVEL`` defaults to 2 (errors only; a user's own value wins). The
    ``tensorflow`` and ``absl`` Python loggers are set to ERROR; the converter's warnings
    are still collected by ``lambdalite.conversion.capture`` (it lowers them while it listens).
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    level = int(environ["TF_CPP_MIN_LOG_LEVEL"]) if environ["TF_CPP_MIN_LOG_LEVEL"].isdigit() else 0
    with capture_fd(2) as written:
        import tensorflow as tf  # deferred: seconds of import, see the module docstring

        # Probes for a GPU now, inside the capture, rather than at the first op.
        tf.config.list_physical_devices()
    kept = filter_startup_log(written(), level)
    if kept:
        sys.stderr.write(kept)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    return tf


@contextlib.contextmanager
def capture_fd(fd: int) -> Iterator[Callable[[], str]]:
    """Point ``fd`` at a temp file; the yielded function returns what was written to it.

    For C++ logs (TensorFlow, MLIR) that bypass ``sys.stderr``. Also used by
    ``lambdalite.conversion.capture`` around a conversion.
    """
    sys.stderr.flush()
    saved = os.dup(fd)
    holder: list[str] = [""]
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield lambda: holder[0]
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            holder[0] = tmp.read().decode("utf-8", "replace")


def filter_startup_log(text: str, min_level: int) -> str:
    """TensorFlow's import-time stderr less the lines below ``min_level`` and the no-GPU probe."""
    kept = []
    for line in text.splitlines(keepends=True):
        if line.startswith(_PRE_INIT_BANNER):
            continue
        m = _ABSL_LINE.match(line.rstrip("\n"))
        if m and (_SEVERITY[m.group(1)] < min_level or any(s in m.group(2) for s in _NO_GPU)):
            continue
        kept.append(line)
    return "".join(kept)


class TFBackend:
    name = "tf"

    def __init__(self, model_path: Path, num_threads: int) -> None:
        tf = import_tensorflow()  # deferred on purpose, see module docstring
        self._tf = tf
        self.model_path = model_path
        self.num_threads = num_threads
        self.threads_applied = _set_threads(tf, num_threads)
        if not model_path.exists():
            raise ModelError(f"TensorFlow model {model_path} is missing; rebuild the package")
        try:
            if model_path.is_dir():
                self._call, self.kind = _saved_model(tf, model_path)
            elif model_path.suffix.lower() in KERAS_SUFFIXES:
                self._call, self.kind = _keras_model(model_path)
            else:
                raise ModelError(
                    f"{model_path} is neither a SavedModel folder nor a .keras/.h5 file"
                )
        except ModelError:
            raise
        except Exception as exc:  # TF raises many types for a bad model; all mean "unusable".
            raise ModelError(f"TensorFlow could not load {model_path}: {exc}") from exc

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._call(batch), dtype=np.float32)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self.model_path.name,
            "format": self.kind,
            "num_threads": self.num_threads,
            "threads_applied": self.threads_applied,
            "tensorflow": self._tf.__version__,
        }


def _set_threads(tf: Any, n: int) -> bool:
    # Only possible before TensorFlow's runtime starts (it may already have in tests).
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        return True
    except RuntimeError:
        return False


def _saved_model(tf: Any, path: Path) -> tuple[Any, str]:
    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures.get("serving_default")
    if fn is None:
        raise ModelError(f"SavedModel {path} has no serving_default signature; export one")
    _, kwargs = fn.structured_input_signature
    if len(kwargs) != 1:
        raise ModelError(f"SavedModel {path} takes {len(kwargs)} inputs; the function serves one")
    ((name, spec),) = kwargs.items()
    return _SignatureCall(
        tf, loaded, fn, name, spec.dtype, sorted(fn.structured_outputs)[0]
    ), "saved_model"


class _SignatureCall:
    """Holds the loaded SavedModel: its signature functions need it alive."""

    def __init__(self, tf: Any, loaded: Any, fn: Any, name: str, dtype: Any, out_key: str) -> None:
        self._tf, self._loaded, self._fn = tf, loaded, fn
        self._name, self._dtype, self._out_key = name, dtype, out_key

    def __call__(self, x: np.ndarray) -> np.ndarray:
        outputs = self._fn(**{self._name: self._tf.constant(x, dtype=self._dtype)})
        return outputs[self._out_key].numpy()


def _keras_model(path: Path) -> tuple[Any, str]:
    import keras  # after import_tensorflow(): Keras imports TensorFlow

    model = keras.models.load_model(str(path), compile=False)

    def call(x: np.ndarray) -> np.ndarray:
        # model(x) rather than model.predict(x): predict builds a tf.data pipeline per call.
        return np.asarray(model(x, training=False))

    return call, "keras"
