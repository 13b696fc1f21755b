"""The model manifest: the contract between ``convert`` and the function.

``lambdalite convert`` writes ``OUT/manifest.json``; the inference function,
``build`` and ``bench`` read it. The JSON Schema is
``lambdalite/schemas/manifest.schema.json`` (documented in docs/CONVERT.md).

Schema version 2 describes any model: the model's logical ``inputs`` (``image``, with the
preprocessing that turns a picture into it, or ``tensor``) and ``outputs`` (``classes``,
``scores``, ``bits`` or ``tensor``), by name (the signature key where the model has a
signature, the tensor name otherwise); each variant maps those names onto its own file's
tensors (name, index, quantization). Optional ``hooks`` (a Python file in the model folder and
its requirements) and ``evaluation_set`` (an ``.npz`` in the folder). Version 1 manifests (one
image in, one class out) are upgraded in memory when read.

Stdlib only: this module ships inside the Lambda package.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Literal

from lambdalite.errors import ModelError
from lambdalite.records import Record

if TYPE_CHECKING:
    from pathlib import Path

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
MANIFEST_NAME = "manifest.json"
VARIANTS = ("float32", "dynamic", "float16", "int8")
# ONNX twins (``convert --onnx``): the float32 model through tf2onnx and its dynamic-quantized
# copy, served by the onnxruntime backend. Other names so one manifest holds both formats.
ONNX_PREFIX = "onnx_"
ONNX_VARIANTS = ("onnx_float32", "onnx_dynamic")
ALL_VARIANTS = (*VARIANTS, *ONNX_VARIANTS)
FORMATS = ("tflite", "onnx")
ONNX_BACKEND = "onnxruntime"  # the backend that runs format "onnx" (LAMBDALITE_BACKEND value)
FILE_FORMAT = "tflite"   # a variant without a ``format`` field (every manifest made before)
INPUT_KINDS = ("image", "tensor")
OUTPUT_KINDS = ("classes", "scores", "bits", "tensor")
DEFAULT_THRESHOLD = 0.5
ColorMode = Literal["L", "RGB"]
ResizeFilter = Literal["nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"]
OutputActivation = Literal["softmax", "sigmoid", "none"]
InputKind = Literal["image", "tensor"]
OutputKind = Literal["classes", "scores", "bits", "tensor"]
# What a version 1 manifest's one input and one output are called once upgraded: the names
# TensorFlow's converter gives a Keras model's signature (the MNIST example's files have them).
V1_INPUT_NAME = "image"
V1_OUTPUT_NAME = "output_0"

# What an ``api_path`` must match (re.fullmatch): the schema's pattern, `build --api-path`'s and
# `convert --api-path`'s check. A string, not a compiled pattern: the function imports this
# module at INIT and never checks it.
API_PATH_PATTERN = r"/\S*"


class Quantization(Record):
    scale: float = 0.0       # 0.0 means "not quantized", as TFLite reports it
    zero_point: int = 0


class TensorSpec(Record):
    """One tensor of one variant's file, and the logical input/output it carries."""

    name: str                # the file's tensor name
    shape: list[int]         # -1 for a dynamic dimension (TFLite shape_signature)
    dtype: str               # numpy dtype name: float32, int8, uint8, float16 ...
    quantization: Quantization = Quantization()
    logical: str = ""        # the manifest input/output name ("" in a version 1 manifest)
    # the tensor's index in the file (-1: unknown, find it by name); the name shadows tuple.index
    index: int = -1  # type: ignore[assignment]


class Evaluation(Record):
    examples: int
    accuracy: float | None           # None when the evaluation set has no labels
    agreement_with_float32: float | None
    mean_latency_ms: float
    accuracy_drop_points: float | None = None  # float32 accuracy minus this one, in points
    flagged: bool = False            # drop above the allowed tolerance
    dataset: str = ""


class Variant(Record):
    name: str                         # one of ALL_VARIANTS
    file: str                         # relative to the manifest's folder
    size_bytes: int
    sha256: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    evaluation: Evaluation | None = None
    format: str = FILE_FORMAT         # one of FORMATS: which backend runs the file
    # An ONNX file's weights in a side file next to it (size_bytes counts both); None: one file.
    external_data: str | None = None

    @property
    def files(self) -> tuple[str, ...]:
        """Every file of this variant in the model folder."""
        return (self.file, self.external_data) if self.external_data else (self.file,)

    def to_dict(self) -> dict[str, Any]:
        out = plain(self)
        if self.format == FILE_FORMAT:  # written as before, so older readers still read it
            del out["format"]
        if self.external_data is None:
            del out["external_data"]
        return out

    def tensor_for(self, logical: str, outputs: bool = False) -> TensorSpec | None:
        specs = self.outputs if outputs else self.inputs
        return next((s for s in specs if s.logical == logical), None)


class Preprocessing(Record):
    color_mode: ColorMode = "RGB"
    height: int = 224
    width: int = 224
    resize_filter: ResizeFilter = "bilinear"
    scale: float = 1.0 / 255.0        # model input = pixel * scale + offset
    offset: float = 0.0
    layout: Literal["NHWC", "NCHW"] = "NHWC"


class InputSpec(Record):
    """A logical model input: what a request (or a preprocess hook) gives the model.

    ``dtype`` is the model's own interface type (float32 for a quantized variant, which the
    backend quantizes); ``shape`` has -1 for free dimensions (the first is the batch)."""

    name: str
    dtype: str
    shape: list[int]
    kind: InputKind = "tensor"
    preprocessing: Preprocessing | None = None   # kind "image": how a picture becomes it

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "dtype": self.dtype,
                               "shape": list(self.shape)}
        if self.kind == "image":
            out["preprocessing"] = plain(self.preprocessing or Preprocessing())
        return out


class OutputSpec(Record):
    """A logical model output and how the function answers with it.

    ``classes``: one class per row (argmax; ``top_k`` ranks them); ``scores``: a score per
    class per row; ``bits``: 0/1 per value at ``threshold``; ``tensor``: the values as they are.
    ``activation`` (classes/scores) says what the model already applied: ``none`` means
    logits (a classes output is softmaxed for its probabilities)."""

    name: str
    dtype: str
    shape: list[int]
    kind: OutputKind = "tensor"
    activation: OutputActivation = "none"
    labels: list[str] | None = None
    threshold: float = DEFAULT_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "dtype": self.dtype,
                               "shape": list(self.shape)}
        if self.kind in ("classes", "scores"):
            out["activation"] = self.activation
            out["labels"] = list(self.labels) if self.labels is not None else None
        if self.kind == "bits":
            out["threshold"] = self.threshold
        return out


class Hooks(Record):
    """User code shipped with the model: ``module`` (a file in the model folder, imported once
    at INIT) and the pip requirements it needs (installed by ``lambdalite build``)."""

    module: str = "hooks.py"
    requirements: tuple[str, ...] = ()


class Source(Record):
    path: str                         # as given to convert
    format: str                       # saved_model_tf2 | saved_model_tf1 | keras | h5 | tflite
    sha256: str | None = None


class ModelInfo(Record):
    name: str
    source: Source
    tf_version: str | None = None     # None: made without TensorFlow (a .tflite given as is)
    # Relative path (to the manifest folder) of the original model, served by the
    # TensorFlow backend: a SavedModel folder or a .keras/.h5 file. None if absent.
    tf_model: str | None = None


class Manifest(Record):
    model: ModelInfo
    inputs: list[InputSpec]
    outputs: list[OutputSpec]
    variants: dict[str, Variant]
    default_variant: str = "float32"
    hooks: Hooks | None = None
    evaluation_set: str | None = None  # an .npz in the model folder (docs/CONVERT.md)
    api_path: str | None = None       # the API event's path `build` defaults to (None: its own)
    lambdalite_version: str = ""
    created: str = ""                 # ISO 8601 UTC

    # ---- (de)serialisation -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "lambdalite_version": self.lambdalite_version,
            "created": self.created,
            "default_variant": self.default_variant,
            "model": plain(self.model),
            "inputs": [i.to_dict() for i in self.inputs],
            "outputs": [o.to_dict() for o in self.outputs],
            "hooks": plain(self.hooks) if self.hooks is not None else None,
            "evaluation_set": self.evaluation_set,
            **({"api_path": self.api_path} if self.api_path is not None else {}),
            "variants": {k: v.to_dict() for k, v in self.variants.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def save(self, folder: str | os.PathLike[str]) -> Path:
        from pathlib import Path  # writing is the CLI's: the function only reads (os.path)

        path = Path(folder) / MANIFEST_NAME
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        try:
            version = data.get("schema_version")
            if version not in READABLE_VERSIONS:
                raise ModelError(
                    f"manifest schema_version {version!r} is not supported (this lambdalite "
                    f"reads {' and '.join(map(str, READABLE_VERSIONS))}); re-create it with "
                    "`lambdalite convert`"
                )
            return _from_v1(data) if version == 1 else _from_v2(data)
        except ModelError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(
                f"manifest is malformed ({type(exc).__name__}: {exc}); "
                "re-create it with `lambdalite convert`"
            ) from exc

    @classmethod
    def load(cls, folder_or_file: str | os.PathLike[str]) -> Manifest:
        # os.path, not pathlib: the function reads its manifest at INIT, and pathlib would cost
        # python3.12 22 M instructions there (it imports urllib.parse, ipaddress, fnmatch).
        path = os.fspath(folder_or_file)
        if os.path.isdir(path):
            path = os.path.join(path, MANIFEST_NAME)
        try:
            with open(path) as text:
                data = json.load(text)
        except FileNotFoundError:
            raise ModelError(
                f"no manifest at {path}; point to a folder made by `lambdalite convert`"
            ) from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path} is not valid JSON ({exc}); re-create it") from exc
        if not isinstance(data, dict):
            raise ModelError(f"{path} is not a manifest (not a JSON object); re-create it")
        return cls.from_dict(data)

    # ---- queries -----------------------------------------------------------
    def variant(self, name: str | None = None) -> Variant:
        key = name or self.default_variant
        try:
            return self.variants[key]
        except KeyError:
            have = ", ".join(self.variants) or "none"
            raise ModelError(
                f"variant {key!r} is not in this manifest (it has: {have}); "
                f"convert it with `lambdalite convert --variants {key}`"
            ) from None

    def variant_for(self, name: str | None, backend: str | None = None) -> Variant:
        """The variant ``backend`` serves for ``name`` (None: the default variant). For
        ``onnxruntime`` a plain name means its ONNX twin (``dynamic`` -> ``onnx_dynamic``);
        ``litert``/``onnxruntime`` given a file the other one runs is a ModelError; None takes
        whichever backend the file needs."""
        key = name or self.default_variant
        if backend == ONNX_BACKEND and key not in ONNX_VARIANTS:
            if f"{ONNX_PREFIX}{key}" not in self.variants:
                raise ModelError(
                    f"the onnxruntime backend serves ONNX variants and this manifest has none "
                    f"for {key!r} (it has: {', '.join(self.variants)}); convert the model with "
                    "`lambdalite convert MODEL --out DIR --onnx`"
                )
            key = f"{ONNX_PREFIX}{key}"
        chosen = self.variant(key)
        runs = ONNX_BACKEND if chosen.format == "onnx" else "litert"
        if backend in ("litert", ONNX_BACKEND) and backend != runs:
            raise ModelError(f"variant {chosen.name} is a .{chosen.format} file, which the {runs} "
                             f"backend runs, not {backend}: choose the {runs} backend")
        return chosen

    def with_variant(self, variant: Variant) -> Manifest:
        return self._replace(variants={**self.variants, variant.name: variant})

    def input(self, name: str) -> InputSpec:
        return _named(self.inputs, name, "input")

    def output(self, name: str) -> OutputSpec:
        return _named(self.outputs, name, "output")

    @property
    def image_input(self) -> InputSpec | None:
        """The model's (first) image input: where a request's ``image``/``images`` go."""
        return first_image(self.inputs)

    @property
    def preprocessing(self) -> Preprocessing | None:
        """The image input's preprocessing; None when the model takes no image."""
        image = self.image_input
        return image.preprocessing if image is not None else None

    @property
    def classifier_output(self) -> OutputSpec | None:
        """The one output when the model has exactly one and it is ``classes``: the function
        then answers as the AWS SAM template does (``{"predicted_label": n}``)."""
        if len(self.outputs) == 1 and self.outputs[0].kind == "classes":
            return self.outputs[0]
        return None


def plain(record: Any) -> Any:
    """A record as JSON-ready data: records as dicts, lists and tuples as lists, nested (what
    ``dataclasses.asdict`` did when these were dataclasses)."""
    if hasattr(record, "_asdict"):
        return {k: plain(v) for k, v in record._asdict().items()}
    if isinstance(record, (list, tuple)):
        return [plain(v) for v in record]
    if isinstance(record, dict):
        return {k: plain(v) for k, v in record.items()}
    return record


def first_image(inputs: Any) -> Any:
    """The first of ``inputs`` (InputSpecs, or anything with a ``kind``) that is an image."""
    return next((i for i in inputs if i.kind == "image"), None)


def logical_shape(shape: list[int]) -> list[int]:
    """A file's tensor shape as the model's interface: a leading 1 of a batched tensor (a model
    exported with batch size 1) becomes -1, since the function runs any rows one by one."""
    if len(shape) >= 2 and shape[0] == 1:
        return [-1, *shape[1:]]
    return list(shape)


def _named(specs: list[Any], name: str, what: str) -> Any:
    found = next((s for s in specs if s.name == name), None)
    if found is None:
        have = ", ".join(s.name for s in specs) or "none"
        raise ModelError(f"the model has no {what} {name!r} (it has: {have})")
    return found


# ---- readers ------------------------------------------------------------------
def _tensor(d: dict[str, Any], logical: str = "") -> TensorSpec:
    q = d.get("quantization") or {}
    return TensorSpec(
        name=d["name"], shape=list(d["shape"]), dtype=d["dtype"], quantization=Quantization(**q),
        logical=d.get("logical") or logical, index=int(d.get("index", -1)),
    )


def _variant(d: dict[str, Any], v1_names: tuple[str, str] | None = None) -> Variant:
    ev = d.get("evaluation")
    if v1_names is not None:  # one input, one output, named on upgrade
        inputs = [_tensor(t, v1_names[0]) for t in d["inputs"][:1]]
        outputs = [_tensor(t, v1_names[1]) for t in d["outputs"][:1]]
    else:
        inputs = [_tensor(t) for t in d["inputs"]]
        outputs = [_tensor(t) for t in d["outputs"]]
    return Variant(
        name=d["name"],
        file=d["file"],
        size_bytes=int(d["size_bytes"]),
        sha256=d["sha256"],
        inputs=inputs,
        outputs=outputs,
        evaluation=Evaluation(**ev) if ev else None,
        format=d.get("format", FILE_FORMAT),
        external_data=d.get("external_data"),
    )


def _model(m: dict[str, Any]) -> ModelInfo:
    return ModelInfo(
        name=m["name"],
        source=Source(**m["source"]),
        tf_version=m.get("tf_version"),
        tf_model=m.get("tf_model"),
    )


def _from_v2(data: dict[str, Any]) -> Manifest:
    inputs = [
        InputSpec(
            name=i["name"], dtype=i["dtype"], shape=list(i["shape"]), kind=i.get("kind", "tensor"),
            preprocessing=Preprocessing(**i["preprocessing"]) if i.get("preprocessing") else None,
        )
        for i in data["inputs"]
    ]
    outputs = [
        OutputSpec(
            name=o["name"], dtype=o["dtype"], shape=list(o["shape"]), kind=o.get("kind", "tensor"),
            activation=o.get("activation") or "none", labels=o.get("labels"),
            threshold=float(o.get("threshold", DEFAULT_THRESHOLD)),
        )
        for o in data["outputs"]
    ]
    hooks = data.get("hooks")
    return Manifest(
        model=_model(data["model"]),
        inputs=inputs,
        outputs=outputs,
        variants={k: _variant(v) for k, v in data["variants"].items()},
        default_variant=data.get("default_variant", "float32"),
        hooks=Hooks(hooks["module"], tuple(hooks.get("requirements", ()))) if hooks else None,
        evaluation_set=data.get("evaluation_set"),
        api_path=data.get("api_path"),
        lambdalite_version=data.get("lambdalite_version", ""),
        created=data.get("created", ""),
    )


def _from_v1(data: dict[str, Any]) -> Manifest:
    """One image input (the preprocessing block), one ``classes`` output (labels, activation):
    what every version 1 manifest described."""
    m = data["model"]
    names = (V1_INPUT_NAME, V1_OUTPUT_NAME)
    variants = {k: _variant(v, names) for k, v in data["variants"].items()}
    default = data.get("default_variant", "float32")
    # The logical interface is the unquantized one: float32's tensors when it was made.
    reference = variants.get("float32") or variants.get(default) or next(iter(variants.values()))
    ref_in, ref_out = reference.inputs[0], reference.outputs[0]
    quantized_in = ref_in.quantization.scale != 0.0 or ref_in.dtype in ("int8", "uint8")
    return Manifest(
        model=_model(m),
        inputs=[InputSpec(
            name=V1_INPUT_NAME, dtype="float32" if quantized_in else ref_in.dtype,
            shape=logical_shape(ref_in.shape), kind="image",
            preprocessing=Preprocessing(**data["preprocessing"]),
        )],
        outputs=[OutputSpec(
            name=V1_OUTPUT_NAME, dtype="float32", shape=logical_shape(ref_out.shape),
            kind="classes",
            activation=m.get("output_activation", "none"), labels=m.get("labels"),
        )],
        variants=variants,
        default_variant=default,
        lambdalite_version=data.get("lambdalite_version", ""),
        created=data.get("created", ""),
    )
