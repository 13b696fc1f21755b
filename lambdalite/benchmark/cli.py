"""``lambdalite bench``: measure, print the table, write JSON + Markdown + PNG, optionally pick.

Thin: flags -> ``BenchOptions`` -> ``runner.bench`` (``lambdalite.bench``), output in
``render``, ``chart`` and ``pick``. Progress goes to stderr; the table and the paths to stdout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lambdalite.benchmark.config import DEFAULT_RUNTIME, DEFAULT_TIMEOUT_S, ROWS
from lambdalite.benchmark.cost import DEFAULT_COLD_FRACTION
from lambdalite.benchmark.pick import OBJECTIVES
from lambdalite.cli import ApiCommand
from lambdalite.errors import UsageError

if TYPE_CHECKING:
    from lambdalite.benchmark.results import BenchResult


@dataclass(frozen=True)
class Outputs:
    json: Path
    markdown: Path
    chart: Path


def write_outputs(result: BenchResult, out: Path) -> Outputs:
    """bench-<model>.json (every raw sample), .md (the table) and .png (the chart) in ``out``."""
    from lambdalite.benchmark.chart import write_chart
    from lambdalite.benchmark.render import render_markdown

    stem = out / f"bench-{result.model}"
    md = stem.with_suffix(".md")
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(render_markdown(result))
    return Outputs(result.save(stem.with_suffix(".json")), md,
                   write_chart(result, stem.with_suffix(".png")))


def parse_variants(value: str | None) -> tuple[str, ...] | None:
    """``--variants float32,dynamic,tf`` -> the rows; None or ``all``: every row."""
    if value is None or value.strip().lower() == "all":
        return None
    names = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    unknown = [v for v in names if v not in ROWS]
    if unknown or not names:
        raise UsageError(f"--variants {value!r}: unknown {', '.join(unknown) or 'empty list'}; "
                         f"choose from all, {', '.join(ROWS)}")
    return names


def parse_memory(value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"--memory {value!r}: expected MB sizes such as 1024,3008") from None


@click.command("bench", cls=ApiCommand,
               fields={"cold_starts": "--cold", "memory_sizes": "--memory",
                       "arm64_sizes": "--no-arm64", "emulate_arm64": "--no-emulation"})
@click.option("--model", help="mnist (the bundled example), large (~52M-parameter model "
                                "generated and cached; needs TensorFlow) or a folder made by "
                                "`lambdalite convert` [default: mnist]. With --from-json: the "
                                "model folder --write-manifest writes to.")
@click.option("--variants", help="Comma-separated rows: float32,dynamic,float16,int8,onnx_float32,onnx_dynamic,tf "
                                 "(tf = the original model on TensorFlow). Default: all.")
@click.option("--memory", help="MemorySize(s) in MB, comma-separated [default: 1024,3008; "
                               "--quick: 1024].")
@click.option("--cold", type=int, help="Cold starts per row and memory [default: 5; quick: 1].")
@click.option("--warm", type=int, help="Recorded warm calls [default: 20; quick: 3].")
@click.option("--warmup", type=int, help="Warm-up calls not recorded [default: 2; quick: 1].")
@click.option("--quick", is_flag=True, help="Few samples, one memory size, no tf row (tests, demo).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("bench-results"), show_default=True,
              help="Folder for packages, JSON, Markdown and PNG.")
@click.option("--runtime", default=DEFAULT_RUNTIME, show_default=True,
              help="Lambda runtime to build and run (must run on this machine).")
@click.option("--timeout", "timeout_s", type=int, default=DEFAULT_TIMEOUT_S, show_default=True,
              help="Function timeout in seconds (API Gateway gives up after ~30 s).")
@click.option("--no-arm64", is_flag=True, help="Do not build the arm64 packages (sizes).")
@click.option("--no-emulation", is_flag=True, help="Do not run the python3.13 arm64 packages "
              "emulated (qemu-user; rows marked 'arm64 emulated', not priced or picked).")
@click.option("--cold-fraction", type=float, default=DEFAULT_COLD_FRACTION, show_default=True,
              help="Share of requests that are cold starts, for the cost columns.")
@click.option("--from-json", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Do not measure: re-render (and --pick from) an earlier bench JSON.")
@click.option("--pick", "do_pick", is_flag=True, help="Name the best variant for the constraints.")
@click.option("--objective", type=click.Choice(OBJECTIVES), default="latency", show_default=True)
@click.option("--max-accuracy-drop", type=click.FloatRange(min=0),
              help="Accuracy points a LiteRT variant may lose against float32 (tf, the original "
                   "model, is the reference).")
@click.option("--max-size", type=click.FloatRange(min=0, min_open=True),
              help="Largest unzipped x86_64 package, MB.")
@click.option("--write-manifest", is_flag=True,
              help="With --pick: set the manifest's default_variant to the pick.")
@click.option("--write-template", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --pick: set MemorySize, LAMBDALITE_BACKEND and LAMBDALITE_VARIANT of "
                   "every AWS::Serverless::Function of this SAM template to the pick's.")
@click.option("--function", "function_id",
              help="With --write-template: only this function (logical id).")
def bench(model: str | None, variants: str | None, memory: str | None, cold: int | None,
          warm: int | None, warmup: int | None, quick: bool, out: Path, runtime: str,
          timeout_s: int, no_arm64: bool, no_emulation: bool, cold_fraction: float,
          from_json: Path | None,
          do_pick: bool, objective: str, max_accuracy_drop: float | None,
          max_size: float | None, write_manifest: bool, write_template: Path | None,
          function_id: str | None) -> None:
    """Measure package size, cold start, warm latency, memory and cost of every variant in the
    local Lambda environment; print the table, write JSON, Markdown and a PNG chart."""
    from lambdalite.benchmark.config import BenchOptions
    from lambdalite.benchmark.results import BenchResult

    if (write_manifest or write_template) and not do_pick:
        raise UsageError("--write-manifest/--write-template need --pick")
    if function_id and not write_template:
        raise UsageError("--function names the function of --write-template: pass both")
    if from_json:
        result = BenchResult.load(from_json)
    else:
        from lambdalite.benchmark.runner import bench as run
        from lambdalite.cli_progress import RichProgress

        options = BenchOptions(
            model=model or "mnist", variants=parse_variants(variants),
            memory_sizes=parse_memory(memory), cold_starts=cold, warm=warm, warmup=warmup,
            quick=quick, runtime=runtime, timeout_s=timeout_s, arm64_sizes=not no_arm64,
            emulate_arm64=not no_emulation,
            cold_fraction=cold_fraction, out=out)
        with RichProgress() as progress:
            result = run(options, progress=progress)
    paths = write_outputs(result, out)
    click.echo(paths.markdown.read_text())
    click.echo(f"results: {paths.json}\ntable:   {paths.markdown}\nchart:   {paths.chart}")
    if do_pick:
        folder = _model_folder(result, model, from_json) if write_manifest else None
        _pick(result, objective, max_accuracy_drop, max_size, folder, write_template,
              function_id)


def _model_folder(result: BenchResult, model: str | None, from_json: Path | None
                  ) -> tuple[Path, str]:
    """Where --write-manifest writes, and where that folder came from: --model wins; else the
    folder the run measured (a JSON may come from another machine: it must exist here)."""
    from lambdalite.benchmark.models import resolve_model
    from lambdalite.cli_progress import RichProgress
    from lambdalite.manifest import Manifest

    if model is not None:
        with RichProgress(transient=True) as progress:
            folder, origin = resolve_model(model, progress), f"--model {model}"
    elif from_json is None:
        folder, origin = Path(result.model_dir), "the model measured"
    else:
        folder, origin = Path(result.model_dir), f"the model folder recorded in {from_json}"
        if not (folder / "manifest.json").is_file():
            raise UsageError(f"{origin} ({folder}) has no manifest.json on this machine: pass "
                             "--model DIR (the model folder to write default_variant to)")
    name = Manifest.load(folder).model.name
    if name != result.model:
        raise UsageError(f"{folder} ({origin}) holds model {name!r}, but the benchmark measured "
                         f"{result.model!r}: pass --model with that model's folder")
    return folder, origin


def _pick(result: BenchResult, objective: str, max_drop: float | None, max_size: float | None,
          manifest_folder: tuple[Path, str] | None, write_template: Path | None,
          function_id: str | None) -> None:
    from lambdalite.benchmark.pick import Constraints, pick
    from lambdalite.benchmark.writeback import write_manifest as save_manifest
    from lambdalite.benchmark.writeback import write_template as save_template

    verdict = pick(result, Constraints(objective, max_drop, max_size))  # type: ignore[arg-type]
    click.echo(verdict.text())
    if manifest_folder:
        folder, origin = manifest_folder
        path = save_manifest(folder, verdict)
        click.echo(f"wrote default_variant={verdict.row} to {path} (from {origin})")
    if write_template:
        change = save_template(write_template, verdict, function_id)
        click.echo(change.text(write_template))
