"""``lambdalite convert`` and ``lambdalite evaluate``: flags -> ``conversion.pipeline`` -> tables.

TensorFlow is imported only once a conversion is really planned (``formats.inspect_model``),
never by ``evaluate`` and never by ``--help``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from lambdalite.cli import ApiCommand
from lambdalite.conversion.errors import UsageError
from lambdalite.conversion.evaluate import DEFAULT_TOLERANCE
from lambdalite.conversion.plan import ACTIVATIONS, DEFAULT_CALIBRATION_SAMPLES, ConvertOptions
from lambdalite.conversion.variants import INT8_IO, SPECS
from lambdalite.manifest import INPUT_KINDS, OUTPUT_KINDS, VARIANTS

RESIZE_FILTERS = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")


def _variants(value: str) -> tuple[str, ...] | None:
    if value.strip().lower() == "all":
        return None
    names = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [v for v in names if v not in SPECS]
    if unknown:
        raise UsageError(
            f"unknown variant(s) {', '.join(unknown)}; choose from all, {', '.join(VARIANTS)}"
        )
    return names


def _size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        h, w = (int(p) for p in value.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size {value!r}: expected HxW, e.g. 224x224") from None
    return h, w


def _kinds(values: tuple[str, ...], flag: str, allowed: tuple[str, ...]) -> dict[str, str] | None:
    """NAME=KIND pairs (the flag may repeat)."""
    kinds: dict[str, str] = {}
    for value in values:
        name, sep, kind = value.rpartition("=")
        if not sep or not name or not kind:
            raise UsageError(f"{flag} {value!r}: expected NAME=KIND, KIND one of "
                             f"{', '.join(allowed)} (e.g. {flag} decoded=bits)")
        kinds[name] = kind.strip().lower()
    return kinds or None


def read_labels(path: Path | None) -> tuple[str, ...] | None:
    """One label per line (blank lines ignored), or a JSON list."""
    if path is None:
        return None
    text = path.read_text()
    if text.lstrip().startswith("["):
        try:
            labels = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--labels {path}: not a valid JSON list ({exc})") from exc
        if not isinstance(labels, list):
            raise UsageError(f"--labels {path}: expected a JSON list of labels")
        found = tuple(str(x) for x in labels)
    else:
        found = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not found:
        raise UsageError(f"--labels {path} holds no labels; write one label per line")
    return found


@click.command(
    "convert", cls=ApiCommand,
    fields={"variants": "--variants", "size": "--size", "labels": "--labels",
            "input_kinds": "--input-kind", "output_kinds": "--output-kind",
            "hook_requirements": "--hook-requirement"},
)
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder for <variant>.tflite and manifest.json.",
)
@click.option(
    "--variants",
    "variants_",
    default="all",
    show_default=True,
    help=f"Comma-separated subset of {','.join(VARIANTS)}, or all.",
)
@click.option(
    "--calibration",
    type=click.Path(exists=True, path_type=Path),
    help="Calibration data for int8: .npz with x (pixels 0..255) or a folder of images.",
)
@click.option(
    "--calibration-samples",
    type=click.IntRange(1),
    default=DEFAULT_CALIBRATION_SAMPLES,
    show_default=True,
)
@click.option(
    "--int8-io",
    type=click.Choice(INT8_IO),
    default="int8",
    show_default=True,
    help="Input/output type of the int8 variant.",
)
@click.option(
    "--color", type=click.Choice(["L", "RGB"]), help="Color mode (default from input channels)."
)
@click.option("--size", "size_", help="Resize target HxW (default from the input shape).")
@click.option(
    "--resize-filter", type=click.Choice(RESIZE_FILTERS), default="bilinear", show_default=True
)
@click.option("--scale", type=float, help="model input = pixel * scale + offset (default 1/255).")
@click.option("--offset", type=float, help="See --scale (default 0).")
@click.option(
    "--labels",
    "labels_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Class labels: one per line, or a JSON list.",
)
@click.option(
    "--tags", default="", help="SavedModel MetaGraph tags, comma-separated (default serve)."
)
@click.option("--signature", help="SavedModel signature key (default serving_default).")
@click.option("--name", help="Model name in the manifest (default from the path).")
@click.option(
    "--output-activation",
    type=click.Choice(ACTIVATIONS),
    help="What the output is (default: read from the graph's last op).",
)
@click.option(
    "--keep-tf-model", is_flag=True, help="Copy the original model into OUT for the TF backend."
)
@click.option(
    "--allow-tf-select",
    is_flag=True,
    help="Let unsupported ops fall back to TF Select (needs the Flex runtime).",
)
@click.option(
    "--dense-per-tensor",
    is_flag=True,
    help="Quantize dense layers per tensor in dynamic and int8, so that tflite-runtime 2.7 "
    "(the write-up's runtime) loads them and computes them right.",
)
@click.option(
    "--input-kind", "input_kind", multiple=True, metavar="NAME=KIND",
    help=f"Declare an input's kind ({'|'.join(INPUT_KINDS)}); repeat for several.",
)
@click.option(
    "--output-kind", "output_kind", multiple=True, metavar="NAME=KIND",
    help=f"Declare an output's kind ({'|'.join(OUTPUT_KINDS)}), e.g. decoded=bits; repeat for "
    "several (default: classes for an image classifier, else from the graph's last op).",
)
@click.option(
    "--hooks", type=click.Path(dir_okay=False, path_type=Path),
    help="A Python file of hooks (setup/preprocess/postprocess), copied next to the model.",
)
@click.option(
    "--hook-requirement", "hook_requirement", multiple=True, metavar="REQ",
    help="A pip requirement the hooks import (repeat), installed by `lambdalite build`.",
)
@click.option(
    "--evaluation-set", type=click.Path(dir_okay=False, path_type=Path),
    help="An .npz of inputs/<name> and outputs/<name> arrays, copied next to the model.",
)
@click.option(
    "--api-path", metavar="PATH",
    help="The API path `lambdalite build` gives the function unless its --api-path says "
    "otherwise, kept in the manifest (e.g. /decode) [default: /classify_digit].",
)
@click.option(
    "--onnx", is_flag=True,
    help="Also write model.onnx (tf2onnx) and its dynamic-quantized twin, for "
    "LAMBDALITE_BACKEND=onnxruntime (variants onnx_float32, onnx_dynamic).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
def convert(
    model: Path,
    out: Path,
    variants_: str,
    calibration: Path | None,
    calibration_samples: int,
    int8_io: str,
    color: str | None,
    size_: str | None,
    resize_filter: str,
    scale: float | None,
    offset: float | None,
    labels_file: Path | None,
    tags: str,
    signature: str | None,
    name: str | None,
    output_activation: str | None,
    keep_tf_model: bool,
    allow_tf_select: bool,
    dense_per_tensor: bool,
    input_kind: tuple[str, ...],
    output_kind: tuple[str, ...],
    hooks: Path | None,
    hook_requirement: tuple[str, ...],
    evaluation_set: Path | None,
    api_path: str | None,
    onnx: bool,
    dry_run: bool,
) -> None:
    """Convert a TF2/TF1 SavedModel, .keras or .h5 MODEL to TFLite variants and a manifest;
    a .tflite MODEL is taken as it is (read with LiteRT, no TensorFlow)."""
    from rich.console import Console

    from lambdalite.cli_progress import RichProgress
    from lambdalite.conversion.pipeline import execute, plan

    options = ConvertOptions(
        model=model,
        out=out,
        variants=_variants(variants_),
        calibration=calibration,
        calibration_samples=calibration_samples,
        int8_io=int8_io,
        color=color,  # type: ignore[arg-type]
        size=_size(size_),
        resize_filter=resize_filter,  # type: ignore[arg-type]
        scale=scale,
        offset=offset,
        labels=read_labels(labels_file),
        tags=tuple(t.strip() for t in tags.split(",") if t.strip()),
        signature=signature,
        name=name,
        output_activation=output_activation,
        keep_tf_model=keep_tf_model,
        allow_tf_select=allow_tf_select,
        dense_per_tensor=dense_per_tensor,
        input_kinds=_kinds(input_kind, "--input-kind", INPUT_KINDS),
        output_kinds=_kinds(output_kind, "--output-kind", OUTPUT_KINDS),
        hooks=hooks,
        hook_requirements=hook_requirement,
        evaluation_set=evaluation_set,
        api_path=api_path,
        onnx=onnx,
    )
    with RichProgress(transient=True) as progress:
        planned = plan(options, progress=progress)
    click.echo(planned.describe())
    if dry_run:
        return
    with RichProgress() as progress:
        result = execute(planned, progress)
    from lambdalite.conversion.report import conversion_table

    Console().print(conversion_table(result))
    if result.failed:
        click.echo(f"{len(result.failed)} variant(s) failed; see the reasons above", err=True)
    click.echo(f"wrote {result.manifest_path}")


@click.command("evaluate", cls=ApiCommand)
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--data",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help="Evaluation set: .npz with x (and y) or a folder of images (label/ subfolders).",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0.0),
    default=DEFAULT_TOLERANCE,
    show_default=True,
    help="Accuracy points a variant may lose against float32 before it is flagged.",
)
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(1),
    help="Use only the first N examples (implies --no-write unless --write is given).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
@click.option(
    "--write/--no-write",
    "write",
    default=None,
    help="Write the results into manifest.json (default: yes, except with --limit).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 4 when a variant is flagged (lost more than --tolerance points).",
)
def evaluate(
    model_dir: Path,
    data: Path,
    tolerance: float,
    threads: int,
    limit: int | None,
    as_json: bool,
    write: bool | None,
    strict: bool,
) -> None:
    """Run every variant of MODEL_DIR with LiteRT on --data; report and record the results."""
    from rich.console import Console

    from lambdalite.cli_progress import RichProgress
    from lambdalite.conversion.pipeline import EvaluateOptions
    from lambdalite.conversion.pipeline import evaluate as run

    options = EvaluateOptions(model_dir=model_dir, data=data, tolerance=tolerance,
                              threads=threads, limit=limit, write=write)
    if not options.writes and write is None:
        click.echo(
            f"--limit {limit}: results not written to the manifest (a subset would replace "
            "the full-set numbers); pass --write to record them anyway",
            err=True,
        )
    if as_json:
        report = run(options).report
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        from lambdalite.conversion.report import evaluation_table

        with RichProgress(transient=True) as progress:
            report = run(options, progress=progress).report
        Console().print(evaluation_table(report))
        for line in report.flag_messages():
            click.secho(line, fg="yellow", err=True)
    if strict and report.flagged:
        from lambdalite.conversion.errors import AccuracyDropped

        raise AccuracyDropped(
            "; ".join(report.flag_messages())
            + ": use another variant, calibrate int8 with more representative data, "
            "or raise --tolerance"
        )
