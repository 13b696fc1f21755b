"""The model manifest: the contract between ``convert`` and the function.

``lambdalite convert`` writes ``OUT/manifest.json``; the inference function,
``build`` and ``bench`` read it. The JSON Schema is
``lambdalite/schemas/manifest.schema.json`` (documented in docs/CONVERT.md).
Stdlib only: this module ships inside the Lambda package.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from lambdalite.errors import ModelError

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
VARIANTS = ("float32", "dynamic", "float16", "int8")
ColorMode = Literal["L", "RGB"]
ResizeFilter = Literal["nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"]
OutputActivation = Literal["softmax", "sigmoid", "none"]


@dataclass(frozen=True)
class Quantization:
    scale: float = 0.0       # 0.0 means "not quantized", as TFLite reports it
    zero_point: int = 0


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: list[int]         # -1 for a dynamic dimension (TFLite shape_signature)
    dtype: str               # numpy dtype name: float32, int8, uint8, float16 ...
    quantization: Quantization = field(default_factory=Quantization)


@dataclass(frozen=True)
class Evaluation:
    examples: int
    accuracy: float | None           # None when the evaluation set has no labels
    agreement_with_float32: float | None
    mean_latency_ms: float
    accuracy_drop_points: float | None = None  # float32 accuracy minus this one, in points
    flagged: bool = False            # drop above the allowed tolerance
    dataset: str = ""


@dataclass(frozen=True)
class Variant:
    name: str                         # one of VARIANTS
    file: str                         # relative to the manifest's folder
    size_bytes: int
    sha256: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    evaluation: Evaluation | None = None


@dataclass(frozen=True)
class Preprocessing:
    color_mode: ColorMode = "RGB"
    height: int = 224
    width: int = 224
    resize_filter: ResizeFilter = "bilinear"
    scale: float = 1.0 / 255.0        # model input = pixel * scale + offset
    offset: float = 0.0
    layout: Literal["NHWC", "NCHW"] = "NHWC"


@dataclass(frozen=True)
class Source:
    path: str                         # as given to convert
    format: str                       # saved_model_tf2 | saved_model_tf1 | keras | h5
    sha256: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    source: Source
    tf_version: str
    labels: list[str] | None = None
    output_activation: OutputActivation = "none"
    # Relative path (to the manifest folder) of the original model, served by the
    # TensorFlow backend: a SavedModel folder or a .keras/.h5 file. None if absent.
    tf_model: str | None = None


@dataclass(frozen=True)
class Manifest:
    model: ModelInfo
    preprocessing: Preprocessing
    variants: dict[str, Variant]
    default_variant: str = "float32"
    schema_version: int = SCHEMA_VERSION
    lambdalite_version: str = ""
    created: str = ""                 # ISO 8601 UTC

    # ---- (de)serialisation -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / MANIFEST_NAME
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        try:
            version = data.get("schema_version")
            if version != SCHEMA_VERSION:
                raise ModelError(
                    f"manifest schema_version {version!r} is not supported (expected "
                    f"{SCHEMA_VERSION}); re-create it with `lambdalite convert`"
                )
            m = data["model"]
            model = ModelInfo(
                name=m["name"],
                source=Source(**m["source"]),
                tf_version=m["tf_version"],
                labels=m.get("labels"),
                output_activation=m.get("output_activation", "none"),
                tf_model=m.get("tf_model"),
            )
            variants = {k: _variant(v) for k, v in data["variants"].items()}
            return cls(
                model=model,
                preprocessing=Preprocessing(**data["preprocessing"]),
                variants=variants,
                default_variant=data.get("default_variant", "float32"),
                schema_version=version,
                lambdalite_version=data.get("lambdalite_version", ""),
                created=data.get("created", ""),
            )
        except ModelError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(
                f"manifest is malformed ({type(exc).__name__}: {exc}); "
                "re-create it with `lambdalite convert`"
            ) from exc

    @classmethod
    def load(cls, folder_or_file: str | Path) -> Manifest:
        path = Path(folder_or_file)
        if path.is_dir():
            path = path / MANIFEST_NAME
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelError(
                f"no manifest at {path}; point to a folder made by `lambdalite convert`"
            ) from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path} is not valid JSON ({exc}); re-create it") from exc
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

    def with_variant(self, variant: Variant) -> Manifest:
        return _replace(self, variants={**self.variants, variant.name: variant})


def _tensor(d: dict[str, Any]) -> TensorSpec:
    q = d.get("quantization") or {}
    return TensorSpec(
        name=d["name"], shape=list(d["shape"]), dtype=d["dtype"], quantization=Quantization(**q)
    )


def _variant(d: dict[str, Any]) -> Variant:
    ev = d.get("evaluation")
    return Variant(
        name=d["name"],
        file=d["file"],
        size_bytes=int(d["size_bytes"]),
        sha256=d["sha256"],
        inputs=[_tensor(t) for t in d["inputs"]],
        outputs=[_tensor(t) for t in d["outputs"]],
        evaluation=Evaluation(**ev) if ev else None,
    )


def _replace(obj: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(obj, **changes)
