"""Plan, then execute: what ``lambdalite convert`` will do, as a frozen value.

``make_plan`` is pure (options + the model's facts -> plan), so it is unit-tested
without TensorFlow, and ``--dry-run`` prints ``plan.describe()`` and stops.

Kinds: an input is an ``image`` when it is a batch of 1- or 3-channel pictures (NHWC or NCHW,
as before) unless ``input_kinds`` says ``tensor``; everything else is a ``tensor``. An output
takes the kind ``output_kinds`` gives it; otherwise a model with an image input and one output
is a classifier (``classes``, as before), labels make their output ``classes``, and the rest
is decided from the converted graph's last op (softmax: ``classes``, sigmoid: ``scores``,
anything else: ``tensor``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from lambdalite.conversion.errors import CalibrationRequired, OptionError, UsageError
from lambdalite.conversion.formats import ModelFacts, ModelFormat, TensorFacts
from lambdalite.conversion.variants import INT8_IO, SPECS
from lambdalite.manifest import (
    API_PATH_PATTERN,
    INPUT_KINDS,
    ONNX_VARIANTS,
    OUTPUT_KINDS,
    ColorMode,
    InputKind,
    OutputKind,
    Preprocessing,
    ResizeFilter,
    first_image,
)

Layout = Literal["NHWC", "NCHW"]

CHANNELS_TO_COLOR: dict[int, ColorMode] = {1: "L", 3: "RGB"}
COLOR_CHANNELS = {"L": 1, "RGB": 3}
DEFAULT_SCALE = 1.0 / 255.0
DEFAULT_CALIBRATION_SAMPLES = 200
ACTIVATIONS = ("softmax", "sigmoid", "none")
HOOKS_SUFFIX = ".py"
# How convert --onnx makes its dynamic twin (onnx_export.quantize's settings), for caches keyed
# by it (the benchmark's large model): a change here makes them make the twin again.
ONNX_DYNAMIC_RECIPE = "int8 weights of MatMul/Gemm, reduce_range"


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
    # dynamic and int8 with dense layers quantized per tensor: what tflite-runtime 2.7 loads
    # and computes right (conversion/variants.py)
    dense_per_tensor: bool = False
    # input name -> "image" | "tensor"; output name -> "classes" | "scores" | "bits" | "tensor"
    input_kinds: Mapping[str, str] | None = None
    output_kinds: Mapping[str, str] | None = None
    hooks: Path | None = None  # a .py file, copied into out and named in the manifest
    hook_requirements: tuple[str, ...] = ()  # pip requirements the hooks import
    evaluation_set: Path | None = None  # an .npz copied into out (inputs/<name>, outputs/<name>)
    onnx: bool = False  # also write model.onnx and its dynamic twin (tf2onnx, onnxruntime)
    api_path: str | None = None  # the manifest's api_path: the API path `build` defaults to


@dataclass(frozen=True)
class Skipped:
    variant: str
    reason: str


@dataclass(frozen=True)
class PlannedInput:
    name: str
    shape: tuple[int, ...]
    dtype: str
    kind: InputKind
    preprocessing: Preprocessing | None = None


@dataclass(frozen=True)
class PlannedOutput:
    name: str
    shape: tuple[int, ...]
    kind: OutputKind | None  # None: decided from the converted graph's last op
    labels: tuple[str, ...] | None = None
    activation: str | None = None  # None: read from the converted graph


@dataclass(frozen=True)
class ConversionPlan:
    model: Path
    format: ModelFormat
    name: str
    out: Path
    variants: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    inputs: tuple[PlannedInput, ...]
    outputs: tuple[PlannedOutput, ...]
    tf_version: str | None
    calibration: Path | None = None
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    int8_io: str = "int8"
    tags: tuple[str, ...] = ()
    signature_key: str | None = None
    keep_tf_model: bool = False
    allow_tf_select: bool = False
    dense_per_tensor: bool = False
    hooks: Path | None = None
    hook_requirements: tuple[str, ...] = ()
    evaluation_set: Path | None = None
    onnx: bool = False
    api_path: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def preprocessing(self) -> Preprocessing | None:
        """The image input's, as in the manifest (None without one)."""
        image: PlannedInput | None = first_image(self.inputs)
        return image.preprocessing if image is not None else None

    @property
    def labels(self) -> tuple[str, ...] | None:
        return next((o.labels for o in self.outputs if o.labels), None)

    @property
    def onnx_variants(self) -> tuple[str, ...]:
        return ONNX_VARIANTS if self.onnx else ()

    def files(self) -> tuple[str, ...]:
        onnx = ("model.onnx", "model_dynamic.onnx") if self.onnx else ()
        return (*(f"{v}.tflite" for v in self.variants), *onnx)

    def describe(self) -> str:
        source = (f"TensorFlow {self.tf_version}" if self.tf_version
                  else "read with LiteRT, no TensorFlow")
        lines = [
            f"model       {self.model} ({self.format.value}, {source})",
            f"name        {self.name}",
            f"out         {self.out}",
            f"variants    {', '.join(self.variants) or 'none'}",
        ]
        lines += [f"  skipped   {s.variant}: {s.reason}" for s in self.skipped]
        if self.dense_per_tensor:
            lines.append("quantize    dense layers per tensor (dynamic, int8: for "
                         "tflite-runtime 2.7)")
        if self.onnx:
            lines.append(f"onnx        {', '.join(self.onnx_variants)} (tf2onnx; the dynamic "
                         "twin quantizes MatMul/Gemm weights to int8)")
        if self.format in (ModelFormat.SAVED_MODEL_TF1, ModelFormat.SAVED_MODEL_TF2):
            lines.append(f"signature   {self.signature_key} (tags {', '.join(self.tags)})")
        if "int8" in self.variants and self.format is not ModelFormat.TFLITE:
            lines.append(
                f"calibration {self.calibration} (up to {self.calibration_samples} examples, "
                f"{self.int8_io} input/output)"
            )
        for i in self.inputs:
            lines.append(f"input       {i.name}: {i.kind} {i.dtype} {list(i.shape)}")
            pre = i.preprocessing
            if pre is not None:
                lines.append(
                    f"  preprocess {pre.color_mode} {pre.height}x{pre.width} {pre.layout}, "
                    f"{pre.resize_filter}, input = pixel * {pre.scale:.6g} + {pre.offset:.6g}"
                )
        for o in self.outputs:
            kind = o.kind or "auto (from the graph's last op)"
            lines.append(f"output      {o.name}: {kind} {list(o.shape)}")
            if o.labels:
                shown = ", ".join(o.labels[:10]) + (f" ... ({len(o.labels)})"
                                                    if len(o.labels) > 10 else "")
                lines.append(f"  labels    {shown}")
            if o.kind in (None, "classes", "scores"):
                lines.append(f"  activation {o.activation or 'auto (read from the graph)'}")
        if self.hooks is not None:
            reqs = ", ".join(self.hook_requirements) or "no requirements"
            lines.append(f"hooks       {self.hooks} ({reqs})")
        if self.evaluation_set is not None:
            lines.append(f"eval set    {self.evaluation_set}")
        if self.api_path is not None:
            lines.append(f"api path    {self.api_path}")
        kept = "copied to the output (--keep-tf-model)" if self.keep_tf_model else "not kept"
        lines.append(f"tf model    {kept}")
        lines += [f"note        {n}" for n in self.notes]
        return "\n".join(lines)


def check_options(opts: ConvertOptions, fmt: ModelFormat | None = None
                  ) -> tuple[tuple[str, ...], tuple[Skipped, ...]]:
    """The checks that need no model: run before TensorFlow loads, so mistakes fail fast."""
    if opts.int8_io not in INT8_IO:
        raise OptionError(f"{{int8_io}} must be one of {', '.join(INT8_IO)}")
    if opts.output_activation is not None and opts.output_activation not in ACTIVATIONS:
        raise OptionError(f"{{output_activation}} must be one of {', '.join(ACTIVATIONS)}")
    _check_kinds(opts.input_kinds, INPUT_KINDS, "input_kinds")
    _check_kinds(opts.output_kinds, OUTPUT_KINDS, "output_kinds")
    _check_hooks(opts)
    if opts.evaluation_set is not None and (opts.evaluation_set.suffix.lower() != ".npz"
                                            or not opts.evaluation_set.is_file()):
        raise OptionError(f"{{evaluation_set}} {opts.evaluation_set} is not an .npz file; "
                          "save it with numpy.savez(path, **{'inputs/<name>': x, "
                          "'outputs/<name>': y})")
    if opts.api_path is not None and not re.fullmatch(API_PATH_PATTERN, opts.api_path):
        raise OptionError(f"{{api_path}} {opts.api_path!r}: an API path starts with / and has "
                          "no spaces, e.g. /decode")
    if fmt is ModelFormat.TFLITE:
        _check_tflite_options(opts)
        return opts.variants or (), ()
    return _choose_variants(opts)


def _check_kinds(kinds: Mapping[str, str] | None, allowed: tuple[str, ...], option: str) -> None:
    for name, kind in (kinds or {}).items():
        if kind not in allowed:
            raise OptionError(f"{{{option}}} {name}={kind}: the kind must be one of "
                              f"{', '.join(allowed)}")


def _check_hooks(opts: ConvertOptions) -> None:
    if opts.hooks is None:
        if opts.hook_requirements:
            raise OptionError("{hook_requirements} without {hooks}: requirements are for a "
                              "hooks module; pass the file as {hooks} hooks.py")
        return
    if opts.hooks.suffix != HOOKS_SUFFIX or not opts.hooks.is_file():
        raise OptionError(f"{{hooks}} {opts.hooks} is not a Python file (.py)")
    if not opts.hooks.stem.isidentifier():
        raise OptionError(f"{{hooks}} {opts.hooks.name}: the file name must be a Python "
                          "module name (letters, digits, _), e.g. hooks.py")
    from packaging.requirements import InvalidRequirement, Requirement  # deferred: CLI-only

    for req in opts.hook_requirements:
        try:
            Requirement(req)
        except InvalidRequirement as exc:
            raise OptionError(f"{{hook_requirements}} {req!r} is not a pip requirement "
                              f"({exc}); write it as for pip, e.g. 'bchlib>=2.1,<3'") from None


def _check_tflite_options(opts: ConvertOptions) -> None:
    """A .tflite is served as it is: what would change the conversion cannot apply."""
    given = [
        name for name, set_ in (
            ("calibration", opts.calibration is not None), ("keep_tf_model", opts.keep_tf_model),
            ("allow_tf_select", opts.allow_tf_select), ("tags", bool(opts.tags)),
            ("dense_per_tensor", opts.dense_per_tensor),
            ("signature", opts.signature is not None), ("onnx", opts.onnx),
        ) if set_
    ]
    if given:
        shown = ", ".join(f"{{{g}}}" for g in given)
        raise OptionError(f"{shown}: {opts.model.name} is a .tflite file, taken as it is; these "
                          "options change a TensorFlow conversion (quantized variants need the "
                          "original TensorFlow model: convert the SavedModel/.keras/.h5)")


def make_plan(opts: ConvertOptions, facts: ModelFacts) -> ConversionPlan:
    variants, skipped = check_options(opts, facts.format)
    if facts.format is ModelFormat.TFLITE:
        variants = _tflite_variants(opts, facts)
    if not facts.inputs or not facts.outputs:
        raise UsageError(f"{opts.model} has {len(facts.inputs)} inputs and {len(facts.outputs)} "
                         "outputs; a model needs at least one of each")
    _check_names(opts.input_kinds, facts.inputs, "input_kinds", "input")
    _check_names(opts.output_kinds, facts.outputs, "output_kinds", "output")
    inputs = tuple(_plan_input(t, opts) for t in facts.inputs)
    outputs = _plan_outputs(facts, opts, has_image=any(i.kind == "image" for i in inputs))
    notes: list[str] = []
    float_in = all(i.dtype in ("float32", "float16", "float64") for i in inputs)
    if not float_in and facts.format is not ModelFormat.TFLITE:
        shown = ", ".join(f"{i.name} {i.dtype}" for i in inputs)
        notes.append(f"the model's inputs are {shown}: quantized variants may not apply")
    return ConversionPlan(
        model=opts.model,
        format=facts.format,
        name=opts.name or _default_name(opts.model),
        out=opts.out,
        variants=variants,
        skipped=skipped,
        inputs=inputs,
        outputs=outputs,
        tf_version=facts.tf_version,
        calibration=opts.calibration,
        calibration_samples=opts.calibration_samples,
        int8_io=opts.int8_io,
        tags=facts.tags,
        signature_key=facts.signature_key,
        keep_tf_model=opts.keep_tf_model,
        allow_tf_select=opts.allow_tf_select,
        dense_per_tensor=opts.dense_per_tensor,
        hooks=opts.hooks,
        hook_requirements=tuple(opts.hook_requirements),
        evaluation_set=opts.evaluation_set,
        onnx=opts.onnx,
        api_path=opts.api_path,
        notes=tuple(notes),
    )


def _tflite_variants(opts: ConvertOptions, facts: ModelFacts) -> tuple[str, ...]:
    have = facts.variant or "float32"
    if opts.variants is not None and tuple(dict.fromkeys(opts.variants)) != (have,):
        asked = ", ".join(opts.variants) or "none"
        raise OptionError(
            f"{{variants}} {asked}: {opts.model.name} is a {have} .tflite and is taken as it is; "
            "quantized variants need the original TensorFlow model (convert the "
            f"SavedModel/.keras/.h5 to make them), or pass {{variants}} {have}"
        )
    return (have,)


def _check_names(kinds: Mapping[str, str] | None, tensors: tuple[TensorFacts, ...], option: str,
                 what: str) -> None:
    names = [t.name for t in tensors]
    unknown = [n for n in (kinds or {}) if n not in names]
    if unknown:
        raise OptionError(f"{{{option}}}: the model has no {what} {', '.join(map(repr, unknown))} "
                          f"(its {what}s: {', '.join(names)})")


def _plan_input(t: TensorFacts, opts: ConvertOptions) -> PlannedInput:
    declared = (opts.input_kinds or {}).get(t.name)
    image = declared == "image" or (declared is None and looks_like_image(t, opts))
    if not image:
        return PlannedInput(t.name, t.shape, t.dtype, "tensor")
    if len(t.shape) != 4:
        raise OptionError(f"{{input_kinds}} {t.name}=image: its shape {list(t.shape)} is not an "
                          "image batch (N, H, W, C) or (N, C, H, W)")
    return PlannedInput(t.name, t.shape, t.dtype, "image",
                        preprocessing_for(t.shape, opts, t.dtype))


def looks_like_image(t: TensorFacts, opts: ConvertOptions) -> bool:
    """A batch of pictures: rank 4, 1 or 3 channels last (NHWC) or first (NCHW), or any
    channels when ``color`` says how many; float or uint8 values."""
    if len(t.shape) != 4 or t.dtype not in ("float32", "float16", "float64", "uint8", "int8"):
        return False
    if opts.color is not None and -1 in (t.shape[1], t.shape[3]):
        return True
    return t.shape[3] in (1, 3) or t.shape[1] in (1, 3)


def _plan_outputs(facts: ModelFacts, opts: ConvertOptions, has_image: bool
                  ) -> tuple[PlannedOutput, ...]:
    declared = dict(opts.output_kinds or {})
    labelled = _labelled_output(facts.outputs, declared, opts) if opts.labels else None
    single = len(facts.outputs) == 1
    planned = []
    for i, t in enumerate(facts.outputs):
        kind = cast("OutputKind | None", declared.get(t.name))
        if kind is None and (t.name == labelled or (single and has_image)):
            kind = "classes"
        if kind is None and facts.activations:  # a .tflite: its graph is known already
            kind = kind_from_activation(facts.activations[i])
        labels = opts.labels if t.name == labelled else None
        activation = opts.output_activation
        if activation is None and facts.activations:
            activation = facts.activations[i]
        planned.append(PlannedOutput(t.name, t.shape, kind, labels, activation))
    return tuple(planned)


KIND_FROM_ACTIVATION: dict[str, OutputKind] = {"softmax": "classes", "sigmoid": "scores"}


def kind_from_activation(activation: str) -> OutputKind:
    """An output nobody declared: what its graph's last op makes it."""
    return KIND_FROM_ACTIVATION.get(activation, "tensor")


def _labelled_output(outputs: tuple[TensorFacts, ...], declared: dict[str, str],
                     opts: ConvertOptions) -> str:
    """The one output ``labels`` name the classes of; its class count must match."""
    assert opts.labels is not None
    candidates = [t for t in outputs if declared.get(t.name) in ("classes", "scores")]
    if not candidates:  # the one output not declared something else
        candidates = [t for t in outputs if t.name not in declared]
    if len(candidates) != 1:
        shown = ", ".join(t.name for t in outputs)
        raise OptionError(
            f"{{labels}}: the model has {len(outputs)} outputs ({shown}); say which one the "
            "labels are for by declaring it in {output_kinds} as NAME=classes (or scores)"
        )
    target = candidates[0]
    classes = target.shape[-1] if target.shape else -1
    if classes > 0 and len(opts.labels) != classes:
        raise OptionError(
            f"{{labels}} has {len(opts.labels)} labels but the model has {classes} outputs; "
            "give one label per output class, in output order"
        )
    return target.name


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


def preprocessing_for(shape: tuple[int, ...], opts: ConvertOptions, dtype: str = "float32"
                      ) -> Preprocessing:
    """The preprocessing contract: flags first, then what the input shape says (an integer
    input takes the pixels themselves: scale 1)."""
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
        scale=(DEFAULT_SCALE if dtype.startswith("float") else 1.0) if opts.scale is None
        else opts.scale,
        offset=0.0 if opts.offset is None else opts.offset,
        layout=layout,
    )


def _image_dims(shape: tuple[int, ...]) -> tuple[Layout, int, int, int]:
    """(layout, height, width, channels) of an image input; -1 where unknown."""
    if len(shape) != 4:
        raise UsageError(
            f"the model's input shape {list(shape)} is not an image batch (N, H, W, C); "
            "it is served as a tensor"
        )
    if shape[3] not in (1, 3) and shape[1] in (1, 3):
        return "NCHW", shape[2], shape[3], shape[1]
    return "NHWC", shape[1], shape[2], shape[3]


def _default_name(model: Path) -> str:
    stem = model.name if model.is_dir() else model.stem
    if stem in ("saved_model", "model", "1", ""):
        stem = model.resolve().parent.name or "model"
    return stem
