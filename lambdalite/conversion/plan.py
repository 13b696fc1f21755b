"""Plan, then execute: what ``lambdalite convert`` will do, as a frozen value.

``make_plan`` is pure (options + the model's facts -> plan), so it is unit-tested
without TensorFlow, and ``--dry-run`` prints ``plan.describe()`` and stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lambdalite.conversion.errors import CalibrationRequired, OptionError, UsageError
from lambdalite.conversion.formats import ModelFacts, ModelFormat
from lambdalite.conversion.variants import INT8_IO, SPECS
from lambdalite.manifest import ColorMode, Preprocessing, ResizeFilter

Layout = Literal["NHWC", "NCHW"]

CHANNELS_TO_COLOR: dict[int, ColorMode] = {1: "L", 3: "RGB"}
COLOR_CHANNELS = {"L": 1, "RGB": 3}
DEFAULT_SCALE = 1.0 / 255.0
DEFAULT_CALIBRATION_SAMPLES = 200


@dataclass(frozen=True)
class ConvertOptions:
    """What to convert, and how (``lambdalite.convert(options)``; files are not read here).

    An ``OptionError`` names these fields; the CLI shows them as its flags."""

    model: Path
    out: Path
    variants: tuple[str, ...] | None = None  # None: every variant that can be made
    calibration: Path | None = None
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    int8_io: str = "int8"
    color: ColorMode | None = None
    size: tuple[int, int] | None = None  # (height, width)
    resize_filter: ResizeFilter = "bilinear"
    scale: float | None = None
    offset: float | None = None
    labels: tuple[str, ...] | None = None
    tags: tuple[str, ...] = ()
    signature: str | None = None
    name: str | None = None
    output_activation: str | None = None  # None: read from the converted graph
    keep_tf_model: bool = False
    allow_tf_select: bool = False


@dataclass(frozen=True)
class Skipped:
    variant: str
    reason: str


@dataclass(frozen=True)
class ConversionPlan:
    model: Path
    format: ModelFormat
    name: str
    out: Path
    variants: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    preprocessing: Preprocessing
    input_shape: tuple[int, ...]
    tf_version: str
    labels: tuple[str, ...] | None = None
    calibration: Path | None = None
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    int8_io: str = "int8"
    tags: tuple[str, ...] = ()
    signature_key: str | None = None
    output_activation: str | None = None
    keep_tf_model: bool = False
    allow_tf_select: bool = False
    notes: tuple[str, ...] = field(default=())

    def files(self) -> tuple[str, ...]:
        return tuple(f"{v}.tflite" for v in self.variants)

    def describe(self) -> str:
        pre = self.preprocessing
        lines = [
            f"model       {self.model} ({self.format.value}, TensorFlow {self.tf_version})",
            f"name        {self.name}",
            f"input       {list(self.input_shape)}",
            f"out         {self.out}",
            f"variants    {', '.join(self.variants) or 'none'}",
        ]
        lines += [f"  skipped   {s.variant}: {s.reason}" for s in self.skipped]
        if self.format in (ModelFormat.SAVED_MODEL_TF1, ModelFormat.SAVED_MODEL_TF2):
            lines.append(f"signature   {self.signature_key} (tags {', '.join(self.tags)})")
        if "int8" in self.variants:
            lines.append(
                f"calibration {self.calibration} (up to {self.calibration_samples} examples, "
                f"{self.int8_io} input/output)"
            )
        lines += [
            f"preprocess  {pre.color_mode} {pre.height}x{pre.width} {pre.layout}, "
            f"{pre.resize_filter}, input = pixel * {pre.scale:.6g} + {pre.offset:.6g}",
            f"labels      {', '.join(self.labels) if self.labels else 'none'}",
            f"activation  {self.output_activation or 'auto (read from the graph)'}",
            f"tf model    {'copied to the output (--keep-tf-model)' if self.keep_tf_model else 'not kept'}",
        ]
        lines += [f"note        {n}" for n in self.notes]
        return "\n".join(lines)


def check_options(opts: ConvertOptions) -> tuple[tuple[str, ...], tuple[Skipped, ...]]:
    """The checks that need no model: run before TensorFlow loads, so mistakes fail fast."""
    if opts.int8_io not in INT8_IO:
        raise OptionError(f"{{int8_io}} must be one of {', '.join(INT8_IO)}")
    return _choose_variants(opts)


def make_plan(opts: ConvertOptions, facts: ModelFacts) -> ConversionPlan:
    variants, skipped = check_options(opts)
    classes = facts.output_shape[-1] if facts.output_shape else -1
    if opts.labels is not None and classes > 0 and len(opts.labels) != classes:
        raise OptionError(
            f"{{labels}} has {len(opts.labels)} labels but the model has {classes} outputs; "
            "give one label per output class, in output order"
        )
    notes: list[str] = []
    if facts.input_dtype not in ("float32", "float16", "float64"):
        notes.append(f"the model's input is {facts.input_dtype}: quantized variants may not apply")
    return ConversionPlan(
        model=opts.model,
        format=facts.format,
        name=opts.name or _default_name(opts.model),
        out=opts.out,
        variants=variants,
        skipped=skipped,
        preprocessing=preprocessing_for(facts.input_shape, opts),
        input_shape=facts.input_shape,
        tf_version=facts.tf_version,
        labels=opts.labels,
        calibration=opts.calibration,
        calibration_samples=opts.calibration_samples,
        int8_io=opts.int8_io,
        tags=facts.tags,
        signature_key=facts.signature_key,
        output_activation=opts.output_activation,
        keep_tf_model=opts.keep_tf_model,
        allow_tf_select=opts.allow_tf_select,
        notes=tuple(notes),
    )


def _choose_variants(opts: ConvertOptions) -> tuple[tuple[str, ...], tuple[Skipped, ...]]:
    if opts.variants is None:  # "all that can be made"
        if opts.calibration is None:
            reason = "no calibration data; pass --calibration data.npz|folder to make it"
            return ("float32", "dynamic", "float16"), (Skipped("int8", reason),)
        return tuple(SPECS), ()
    unknown = [v for v in opts.variants if v not in SPECS]
    if unknown:
        raise OptionError(f"{{variants}}: unknown variant(s) {', '.join(unknown)}; choose from "
                          f"{', '.join(SPECS)}")
    if not opts.variants:
        raise OptionError("no variants selected; pass {variants} float32,dynamic,float16,int8")
    wanted = tuple(v for v in SPECS if v in opts.variants)  # canonical order, no duplicates
    if any(SPECS[v].needs_calibration for v in wanted) and opts.calibration is None:
        raise CalibrationRequired(
            "the int8 variant needs calibration data (a representative sample of real inputs): "
            "pass {calibration} data.npz (with an `x` array) or a folder of images, "
            "or drop int8 from {variants}"
        )
    return wanted, ()


def preprocessing_for(shape: tuple[int, ...], opts: ConvertOptions) -> Preprocessing:
    """The preprocessing contract: flags first, then what the input shape says."""
    layout, height, width, channels = _image_dims(shape)
    if opts.size is not None:
        height, width = opts.size
    color = opts.color or CHANNELS_TO_COLOR.get(channels)
    if color is None:
        raise OptionError(
            f"cannot tell the color mode from the input shape {list(shape)}; pass {{color}} L|RGB"
        )
    if channels > 0 and COLOR_CHANNELS[color] != channels:
        raise OptionError(
            f"{{color}} {color} makes {COLOR_CHANNELS[color]} channel(s) but the model's input "
            f"{list(shape)} has {channels}"
        )
    if height <= 0 or width <= 0:
        raise OptionError(
            f"the model's input {list(shape)} has no fixed height/width; pass {{size}} HxW"
        )
    return Preprocessing(
        color_mode=color,
        height=height,
        width=width,
        resize_filter=opts.resize_filter,
        scale=DEFAULT_SCALE if opts.scale is None else opts.scale,
        offset=0.0 if opts.offset is None else opts.offset,
        layout=layout,
    )


def _image_dims(shape: tuple[int, ...]) -> tuple[Layout, int, int, int]:
    """(layout, height, width, channels) of an image input; -1 where unknown."""
    if len(shape) != 4:
        raise UsageError(
            f"the model's input shape {list(shape)} is not an image batch (N, H, W, C); "
            "lambdalite serves image classifiers"
        )
    if shape[3] not in (1, 3) and shape[1] in (1, 3):
        return "NCHW", shape[2], shape[3], shape[1]
    return "NHWC", shape[1], shape[2], shape[3]


def _default_name(model: Path) -> str:
    stem = model.name if model.is_dir() else model.stem
    if stem in ("saved_model", "model", "1", ""):
        stem = model.resolve().parent.name or "model"
    return stem
