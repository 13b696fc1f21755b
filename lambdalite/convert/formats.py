"""Which kind of model a path holds, and what its input looks like.

``detect_format`` looks only at the file system (no TensorFlow), so a wrong path
fails in milliseconds. ``inspect_model`` needs TensorFlow: it tells a TF1 SavedModel
from a TF2 one and reads the input/output shapes that the preprocessing defaults
come from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdalite.convert.errors import ModelError, UnknownModelFormat, UsageError

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
KERAS_MAGIC = b"PK\x03\x04"  # a .keras file is a zip archive
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
DEFAULT_TAG = "serve"
DEFAULT_SIGNATURE = "serving_default"


class ModelFormat(enum.StrEnum):
    SAVED_MODEL = "saved_model"  # flavour not known yet (TF1 or TF2)
    SAVED_MODEL_TF2 = "saved_model_tf2"
    SAVED_MODEL_TF1 = "saved_model_tf1"
    KERAS = "keras"
    H5 = "h5"


@dataclass(frozen=True)
class ModelFacts:
    """What conversion planning needs to know about a model (filled with TensorFlow)."""

    format: ModelFormat
    input_shape: tuple[int, ...]  # -1 for an unknown dimension
    input_dtype: str
    output_shape: tuple[int, ...]
    tf_version: str
    tags: tuple[str, ...] = ()
    signature_key: str | None = None
    signature_keys: tuple[str, ...] = ()


def detect_format(path: Path) -> ModelFormat:
    if not path.exists():
        raise UsageError(f"{path} does not exist; pass a SavedModel folder, a .keras or a .h5 file")
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
        return ModelFormat.KERAS
    if suffix in (".h5", ".hdf5"):
        _check_magic(path, HDF5_MAGIC, "HDF5")
        return ModelFormat.H5
    raise UnknownModelFormat(
        f"{path.name}: unknown model format {suffix or '(no suffix)'!r}. lambdalite converts a "
        "TF1/TF2 SavedModel folder, a Keras .keras file or a legacy Keras .h5 file"
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
    from google.protobuf import message, text_format
    from tensorflow.core.protobuf import saved_model_pb2  # deferred: imports TensorFlow

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
    import tensorflow as tf  # deferred: only conversion needs it

    if fmt is ModelFormat.SAVED_MODEL:
        return _inspect_saved_model(path, tags, signature, tf.__version__)
    model = load_keras(path)
    return ModelFacts(
        format=fmt,
        input_shape=_dims(model.inputs[0].shape),
        input_dtype=str(model.inputs[0].dtype).replace("tf.", ""),
        output_shape=_dims(model.outputs[0].shape),
        tf_version=tf.__version__,
    )


def load_keras(path: Path) -> Any:
    import keras  # deferred: imports TensorFlow

    try:
        # compile=False: we only run inference, and old .h5 files often carry
        # optimizer state that Keras 3 cannot rebuild.
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises ValueError, OSError, TypeError, KeyError...
        raise ModelError(
            f"Keras could not load {path} ({type(exc).__name__}: {str(exc)[:300]}); "
            "check the file is complete and was saved by Keras"
        ) from exc


def _inspect_saved_model(
    path: Path, tags: tuple[str, ...], signature: str | None, tf_version: str
) -> ModelFacts:
    proto = saved_model_proto(path)
    want = set(tags or (DEFAULT_TAG,))
    graphs = [mg for mg in proto.meta_graphs if set(mg.meta_info_def.tags) == want]
    if not graphs:
        have = [sorted(mg.meta_info_def.tags) for mg in proto.meta_graphs]
        raise UsageError(
            f"{path} has no MetaGraph tagged {sorted(want)} (it has {have}); use --tags"
        )
    mg = graphs[0]
    keys = tuple(k for k in mg.signature_def if not k.startswith("__"))
    key = signature or (DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in keys else (keys or (None,))[0])
    if key is None or key not in mg.signature_def:
        raise UsageError(
            f"{path} has no signature {key!r} (it has: {', '.join(keys) or 'none'}); use --signature"
        )
    sig = mg.signature_def[key]
    if len(sig.inputs) != 1:
        raise UsageError(
            f"signature {key!r} has {len(sig.inputs)} inputs; lambdalite converts single-input "
            "image models (pick another --signature)"
        )
    (inp,) = sig.inputs.values()
    out = next(iter(sig.outputs.values()))
    # A TF2 SavedModel (tf.saved_model.save / model.export) records its object graph;
    # a TF1 one (SavedModelBuilder) does not, and needs the tf.compat.v1 converter.
    tf2 = len(mg.object_graph_def.nodes) > 0
    from tensorflow import dtypes  # deferred: imports TensorFlow

    return ModelFacts(
        format=ModelFormat.SAVED_MODEL_TF2 if tf2 else ModelFormat.SAVED_MODEL_TF1,
        input_shape=_proto_dims(inp.tensor_shape),
        input_dtype=dtypes.as_dtype(inp.dtype).name,
        output_shape=_proto_dims(out.tensor_shape),
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
