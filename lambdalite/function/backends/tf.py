"""TensorFlow backend: the original SavedModel or Keras model, for comparison with LiteRT.

Imported only when LAMBDALITE_BACKEND=tf: TensorFlow costs seconds of INIT and
hundreds of MB, which is what the LiteRT variants exist to avoid.

Inputs and outputs go by the manifest's logical names: a SavedModel's ``serving_default``
signature keys (which the converted ``.tflite`` keeps), a Keras model's input names and its
outputs by key (a dict output) or by position. A model with one input or one output takes
and gives it whatever it is called.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
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


Call = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]


class TFBackend:
    name = "tf"

    def __init__(self, model_path: str | Path, num_threads: int, inputs: Sequence[str] = (),
                 outputs: Sequence[str] = ()) -> None:
        tf = import_tensorflow()  # deferred on purpose, see module docstring
        self._tf = tf
        self.model_path = model_path = Path(model_path)
        self.num_threads = num_threads
        self.threads_applied = _set_threads(tf, num_threads)
        if not model_path.exists():
            raise ModelError(f"TensorFlow model {model_path} is missing; rebuild the package")
        try:
            if model_path.is_dir():
                self._call, self.kind = _saved_model(tf, model_path, inputs, outputs)
            elif model_path.suffix.lower() in KERAS_SUFFIXES:
                self._call, self.kind = _keras_model(model_path, inputs, outputs)
            else:
                raise ModelError(
                    f"{model_path} is neither a SavedModel folder nor a .keras/.h5 file"
                )
        except ModelError:
            raise
        except Exception as exc:  # TF raises many types for a bad model; all mean "unusable".
            raise ModelError(f"TensorFlow could not load {model_path}: {exc}") from exc

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: _plain(v) for k, v in self._call(inputs).items()}

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


def _plain(value: Any) -> np.ndarray:
    array = np.asarray(value)
    return array.astype(np.float32, copy=False) if array.dtype.kind == "f" else array


def _saved_model(tf: Any, path: Path, inputs: Sequence[str], outputs: Sequence[str]
                 ) -> tuple[Call, str]:
    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures.get("serving_default")
    if fn is None:
        raise ModelError(f"SavedModel {path} has no serving_default signature; export one")
    _, kwargs = fn.structured_input_signature
    in_keys = _match(list(kwargs), inputs, "input", path)
    out_keys = _match(sorted(fn.structured_outputs), outputs, "output", path)
    dtypes = {key: spec.dtype for key, spec in kwargs.items()}
    return _SignatureCall(tf, loaded, fn, in_keys, out_keys, dtypes), "saved_model"


def _match(have: list[str], want: Sequence[str], what: str, path: Path) -> dict[str, str]:
    """Logical name -> the model's own key (one of each: whatever they are called)."""
    if not want:
        return {k: k for k in have}
    if len(have) == len(want) == 1:
        return {want[0]: have[0]}
    missing = [w for w in want if w not in have]
    if missing:
        raise ModelError(f"{path} has no {what} {', '.join(map(repr, missing))} (it has: "
                         f"{', '.join(have)}); re-create the folder with `lambdalite convert`")
    return {w: w for w in want}


class _SignatureCall:
    """Holds the loaded SavedModel: its signature functions need it alive."""

    def __init__(self, tf: Any, loaded: Any, fn: Any, inputs: dict[str, str],
                 outputs: dict[str, str], dtypes: dict[str, Any]) -> None:
        self._tf, self._loaded, self._fn = tf, loaded, fn
        self._inputs, self._outputs, self._dtypes = inputs, outputs, dtypes

    def __call__(self, x: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {key: self._tf.constant(x[name], dtype=self._dtypes[key])
                for name, key in self._inputs.items()}
        result = self._fn(**feed)
        return {name: result[key].numpy() for name, key in self._outputs.items()}


def _keras_model(path: Path, inputs: Sequence[str], outputs: Sequence[str]
                 ) -> tuple[Call, str]:
    import keras  # after import_tensorflow(): Keras imports TensorFlow

    model = keras.models.load_model(str(path), compile=False)
    in_names = [t.name for t in model.inputs]
    in_keys = _match(in_names, inputs, "input", path)

    def call(x: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {key: x[name] for name, key in in_keys.items()}
        # model(x) rather than model.predict(x): predict builds a tf.data pipeline per call.
        result = model(feed[in_names[0]] if len(in_names) == 1 else feed, training=False)
        if isinstance(result, dict):
            return {name: np.asarray(result[key])
                    for name, key in _match(sorted(result), outputs, "output", path).items()}
        values = list(result) if isinstance(result, (list, tuple)) else [result]
        names = list(outputs) or [f"output_{i}" for i in range(len(values))]
        if len(names) != len(values):
            raise ModelError(f"{path} gives {len(values)} outputs; the manifest names "
                             f"{len(names)}")
        return {name: np.asarray(v) for name, v in zip(names, values)}

    return call, "keras"
