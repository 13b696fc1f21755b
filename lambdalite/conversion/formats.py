"""Which kind of model a path holds, and what its inputs and outputs look like.

``detect_format`` looks only at the file system (no TensorFlow), so a wrong path
fails in milliseconds. ``inspect_model`` needs TensorFlow: it tells a TF1 SavedModel
from a TF2 one and reads the inputs and outputs (names as the converted ``.tflite`` will
call them, shapes, dtypes) that the plan's kinds and preprocessing defaults come from.
A ``.tflite`` is read by ``tflite_source`` with LiteRT only.
"""

from __future__ import annotations

import enum
import importlib.util
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdalite.conversion.errors import ModelError, OptionError, UnknownModelFormat, UsageError
from lambdalite.function.backends.tf import import_tensorflow

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
KERAS_MAGIC = b"PK\x03\x04"  # a .keras file is a zip archive
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
TFLITE_MAGIC = b"TFL3"  # the flatbuffer's file identifier, at offset 4
DEFAULT_TAG = "serve"
DEFAULT_SIGNATURE = "serving_default"


class ModelFormat(enum.StrEnum):
    SAVED_MODEL = "saved_model"  # flavour not known yet (TF1 or TF2)
    SAVED_MODEL_TF2 = "saved_model_tf2"
    SAVED_MODEL_TF1 = "saved_model_tf1"
    KERAS = "keras"
    H5 = "h5"
    TFLITE = "tflite"


@dataclass(frozen=True)
class TensorFacts:
    name: str
    shape: tuple[int, ...]  # -1 for an unknown dimension; () for an unknown rank
    dtype: str


@dataclass(frozen=True)
class ModelFacts:
    """What conversion planning needs to know about a model (filled with TensorFlow, or with
    LiteRT for a ``.tflite``)."""

    format: ModelFormat
    inputs: tuple[TensorFacts, ...]
    outputs: tuple[TensorFacts, ...]
    tf_version: str | None
    tags: tuple[str, ...] = ()
    signature_key: str | None = None
    signature_keys: tuple[str, ...] = ()
    variant: str | None = None  # a .tflite: the variant its tensor types make it
    activations: tuple[str, ...] = ()  # a .tflite: per output, what its last op applies


def detect_format(path: Path) -> ModelFormat:
    if not path.exists():
        raise UsageError(f"{path} does not exist; pass a SavedModel folder, a .keras, .h5 or .tflite file")
    if path.name in SAVED_MODEL_FILES:
        raise UsageError(
            f"{path} is one file of a SavedModel: pass the folder holding {path.name} "
            f"(lambdalite convert {path.parent} ...)"
        )
    if path.is_dir():
        if any((path / name).is_file() for name in SAVED_MODEL_FILES):
            return ModelFormat.SAVED_MODEL
        raise UnknownModelFormat(
            f"{path} is a folder without saved_model.pb: not a SavedModel. Pass the folder "
            "that tf.saved_model.save / model.export() wrote, or a .keras / .h5 file"
        )
    suffix = path.suffix.lower()
    if suffix == ".keras":
        _check_magic(path, KERAS_MAGIC, "Keras v3 (.keras, a zip archive)")
        if not zipfile.is_zipfile(path):  # Keras itself would say "File not found"
            raise ModelError(
                f"{path}: truncated or corrupt .keras file (a .keras file is a zip archive and "
                "this one has no complete zip directory); copy it again or re-save it with "
                "model.save('model.keras')"
            )
        return ModelFormat.KERAS
    if suffix in (".h5", ".hdf5"):
        _check_magic(path, HDF5_MAGIC, "HDF5")
        return ModelFormat.H5
    if suffix == ".tflite":
        with path.open("rb") as f:
            head = f.read(8)
        if head[4:8] != TFLITE_MAGIC:
            raise ModelError(f"{path} is not a TFLite flatbuffer (no TFL3 identifier): corrupt, "
                             "truncated or another format; convert the model again")
        return ModelFormat.TFLITE
    raise UnknownModelFormat(
        f"{path.name}: unknown model format {suffix or '(no suffix)'!r}. lambdalite converts a "
        "TF1/TF2 SavedModel folder, a Keras .keras file, a legacy Keras .h5 file or a .tflite "
        "file"
    )


def _check_magic(path: Path, magic: bytes, kind: str) -> None:
    with path.open("rb") as f:
        head = f.read(len(magic))
    if head != magic:
        raise ModelError(
            f"{path} is not a valid {kind} file (corrupt or truncated); re-save the model"
        )


def saved_model_proto(path: Path) -> Any:
    """The parsed ``saved_model.pb`` (needs TensorFlow's protobuf classes)."""
    import_tensorflow()  # deferred: seconds of import, and quietly
    from google.protobuf import message, text_format
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    try:
        pb = path / "saved_model.pb"
        if pb.is_file():
            proto.ParseFromString(pb.read_bytes())
        else:
            text_format.Parse((path / "saved_model.pbtxt").read_text(), proto)
    except (message.DecodeError, text_format.ParseError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} holds a corrupt saved_model.pb ({exc}); re-export it") from exc
    if not proto.meta_graphs:
        raise ModelError(f"{path}: the SavedModel has no MetaGraph; re-export it")
    return proto


def inspect_model(
    path: Path, fmt: ModelFormat, tags: tuple[str, ...] = (), signature: str | None = None
) -> ModelFacts:
    tf = import_tensorflow()  # deferred: only conversion needs it

    if fmt is ModelFormat.SAVED_MODEL:
        return _inspect_saved_model(path, tags, signature, tf.__version__)
    model = load_keras(path)
    return ModelFacts(
        format=fmt,
        inputs=tuple(
            TensorFacts(_keras_name(t), _dims(t.shape), str(t.dtype).replace("tf.", ""))
            for t in model.inputs
        ),
        outputs=_keras_outputs(model),
        tf_version=tf.__version__,
    )


def _keras_name(tensor: Any) -> str:
    return str(tensor.name).split(":")[0]


def _keras_outputs(model: Any) -> tuple[TensorFacts, ...]:
    """As TFLiteConverter.from_keras_model names them: a dict output by its (sorted) keys,
    anything else output_0, output_1 ... in order."""
    structure = getattr(model, "output", None)
    tensors = list(model.outputs)
    if isinstance(structure, dict):
        names = sorted(structure)
        tensors = [structure[k] for k in names]
    else:
        names = [f"output_{i}" for i in range(len(tensors))]
    return tuple(
        TensorFacts(n, _dims(t.shape), str(t.dtype).replace("tf.", ""))
        for n, t in zip(names, tensors, strict=True)
    )


def load_keras(path: Path) -> Any:
    """A ``.keras`` or ``.h5`` model with Keras 3; an ``.h5`` written by tf.keras 2.x that Keras 3
    cannot rebuild is loaded through ``tf_keras`` (the tf-keras package) when it is installed."""
    import_tensorflow()  # deferred: Keras imports TensorFlow
    import keras

    try:
        # compile=False: we only run inference, and old .h5 files often carry
        # optimizer state that Keras 3 cannot rebuild.
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises ValueError, OSError, TypeError, KeyError...
        first = exc
    written_by = h5_keras_version(path) if path.suffix.lower() in (".h5", ".hdf5") else None
    legacy = written_by is not None and not written_by.startswith("3")
    if legacy and importlib.util.find_spec("tf_keras") is not None:
        import tf_keras  # deferred: optional, only for tf.keras 2.x files

        try:
            return tf_keras.models.load_model(path, compile=False)
        except Exception as exc:
            raise ModelError(
                f"neither Keras 3 nor tf_keras could load {path} (written by Keras "
                f"{written_by}): {_brief(first)}; tf_keras: {_brief(exc)}. Re-save it with the "
                "Keras that wrote it, as model.save('model.keras') or a SavedModel"
            ) from exc
    if legacy:
        raise ModelError(
            f"Keras 3 could not load {path} ({_brief(first)}); it was written by tf.keras "
            f"{written_by}: install tf-keras matching your TensorFlow (pip install "
            f"'tf-keras~={_minor(import_tensorflow().__version__)}.0') and run again, or re-save "
            "the model as a SavedModel"
        ) from first
    raise ModelError(
        f"Keras could not load {path} ({_brief(first)}); check the file is complete and was "
        "saved by Keras"
    ) from first


def h5_keras_version(path: Path) -> str | None:
    """The ``keras_version`` attribute Keras writes into an HDF5 model, if readable."""
    import h5py  # deferred: a Keras dependency, installed with TensorFlow

    try:
        with h5py.File(path, "r") as f:
            value = f.attrs.get("keras_version")
    except (OSError, ValueError):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value) if value is not None else None


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    # Keras: "Error when deserializing class 'X' using config={...whole config...}.
    # Exception encountered: <the reason>": keep the class and the reason.
    if " using config=" in text and "Exception encountered:" in text:
        text = f"{text.split(' using config=')[0]}: {text.split('Exception encountered:')[-1]}"
    return f"{type(exc).__name__}: {text[:300]}"


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _inspect_saved_model(
    path: Path, tags: tuple[str, ...], signature: str | None, tf_version: str
) -> ModelFacts:
    proto = saved_model_proto(path)
    want = set(tags or (DEFAULT_TAG,))
    graphs = [mg for mg in proto.meta_graphs if set(mg.meta_info_def.tags) == want]
    if not graphs:
        have = [sorted(mg.meta_info_def.tags) for mg in proto.meta_graphs]
        raise OptionError(
            f"{path} has no MetaGraph tagged {sorted(want)} (it has {have}); set {{tags}}"
        )
    mg = graphs[0]
    keys = tuple(k for k in mg.signature_def if not k.startswith("__"))
    key = signature or (DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in keys else (keys or (None,))[0])
    if key is None or key not in mg.signature_def:
        raise OptionError(
            f"{path} has no signature {key!r} (it has: {', '.join(keys) or 'none'}); set "
            "{signature}"
        )
    sig = mg.signature_def[key]
    # A TF2 SavedModel (tf.saved_model.save / model.export) records its object graph;
    # a TF1 one (SavedModelBuilder) does not, and needs the tf.compat.v1 converter.
    tf2 = len(mg.object_graph_def.nodes) > 0
    from tensorflow import dtypes  # TensorFlow is imported by now

    def facts(infos: Any) -> tuple[TensorFacts, ...]:
        return tuple(
            TensorFacts(name, _proto_dims(info.tensor_shape), dtypes.as_dtype(info.dtype).name)
            for name, info in sorted(infos.items())
        )

    return ModelFacts(
        format=ModelFormat.SAVED_MODEL_TF2 if tf2 else ModelFormat.SAVED_MODEL_TF1,
        inputs=facts(sig.inputs),
        outputs=facts(sig.outputs),
        tf_version=tf_version,
        tags=tuple(sorted(want)),
        signature_key=key,
        signature_keys=keys,
    )


def _dims(shape: Any) -> tuple[int, ...]:
    return tuple(-1 if d is None else int(d) for d in shape)


def _proto_dims(shape: Any) -> tuple[int, ...]:
    if shape.unknown_rank:
        return ()
    return tuple(int(d.size) for d in shape.dim)
