"""``lambdalite bench``: measure, print the table, write JSON + Markdown + PNG, optionally pick.

Thin: flags -> ``BenchOptions`` -> ``runner.bench`` (``lambdalite.bench``), output in
``render``, ``chart`` and ``pick``. Progress goes to stderr; the table and the paths to stdout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lambdalite.benchmark.config import DEFAULT_RUNTIME, DEFAULT_TIMEOUT_S, ROWS
from lambdalite.benchmark.cost import DEFAULT_COLD_FRACTION
from lambdalite.benchmark.pick import OBJECTIVES
from lambdalite.cli import ApiCommand
from lambdalite.errors import UsageError

if TYPE_CHECKING:
    from lambdalite.benchmark.remote import RemoteResult
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
                       "arm64_sizes": "--no-arm64", "emulate_arm64": "--no-emulation",
                       "floors": "--no-floors", "variant": "--variants",
                       "compare_local": "--no-local", "function": "--remote",
                       "peer_rows": "--peer-rows", "event": "--event"})
@click.option("--model", help="mnist or stegastamp (the bundled examples), large (~52M-parameter model "
                                "generated and cached; needs TensorFlow) or a folder made by "
                                "`lambdalite convert` [default: mnist]. With --from-json: the "
                                "model folder --write-manifest writes to.")
@click.option("--variants", help="Comma-separated rows: float32,dynamic,float16,int8,onnx_float32,onnx_dynamic,tf "
                                 "(tf = the original model on TensorFlow). Default: all.")
@click.option("--memory", help="MemorySize(s) in MB, comma-separated [default: 1024,3008; "
                               "--quick: 1024].")
@click.option("--cold", type=int, help="Cold starts per row and memory [default: 7; quick: 1].")
@click.option("--warm", type=int, help="Recorded warm calls [default: 20; quick: 3].")
@click.option("--warmup", type=int, help="Warm-up calls not recorded [default: 2; quick: 1].")
@click.option("--quick", is_flag=True, help="Few samples, one memory size, no tf row (tests, demo).")
@click.option("--event", "event_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The Lambda event (JSON) every invocation sends, with --remote the "
                   "deployed function's too [default: the example's event, a noise PNG for an "
                   "image classifier, else seeded tensors of the manifest's input shapes].")
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
@click.option("--no-floors", is_flag=True, help="Leave out the floor rows (the no-op and the "
              "imports-only handler, run from the same package).")
@click.option("--goals", is_flag=True, help="Print issue 15's goal figures instead of the table: "
              "MNIST cold start over the imports-only floor, first vs warm Duration, the large "
              "model at 1024 MB, the float32 zip's size, local engine calls/s with 1 vs 2 "
              "environments (--runtime default python3.12; --quick: few samples, no large).")
@click.option("--peer-rows/--no-peer-rows", default=None,
              help="Also measure the write-up's runtime (tflite-runtime 2.7.0 on python3.9, "
                   "deprecated on Lambda) for float32, dynamic and int8 [default: yes; "
                   "--quick: no].")
@click.option("--cold-fraction", type=float, default=DEFAULT_COLD_FRACTION, show_default=True,
              help="Share of requests that are cold starts, for the cost columns.")
@click.option("--from-json", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Do not measure: re-render (and --pick from) an earlier bench JSON; a "
                   "`bench --remote` one: its table again.")
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
@click.option("--remote", metavar="FUNCTION", help="Measure this deployed function instead "
              "(name or ARN; boto3): forced cold starts, --memory as a sweep (its configuration "
              "put back after), next to the same model through the local Lambda.")
@click.option("--region", help="With --remote: the function's region [default: boto3's].")
@click.option("--profile", help="With --remote: the AWS profile [default: boto3's].")
@click.option("--endpoint-url", help="With --remote: the Lambda endpoint (e.g. "
              "`lambdalite local start-lambda`'s http://127.0.0.1:3001).")
@click.option("--no-local", is_flag=True, help="With --remote: do not measure locally.")
def bench(model: str | None, variants: str | None, memory: str | None, cold: int | None,
          warm: int | None, warmup: int | None, quick: bool, event_file: Path | None,
          out: Path, runtime: str,
          timeout_s: int, no_arm64: bool, no_emulation: bool, no_floors: bool, goals: bool,
          peer_rows: bool | None,
          cold_fraction: float, from_json: Path | None,
          do_pick: bool, objective: str, max_accuracy_drop: float | None,
          max_size: float | None, write_manifest: bool, write_template: Path | None,
          function_id: str | None, remote: str | None, region: str | None,
          profile: str | None, endpoint_url: str | None, no_local: bool) -> None:
    """Measure package size, cold start, warm latency, memory and cost of every variant in the
    local Lambda environment; print the table, write JSON, Markdown and a PNG chart."""
    from lambdalite.benchmark.config import BenchOptions
    from lambdalite.benchmark.results import BenchResult

    if goals:
        if remote is not None or from_json or do_pick:
            raise UsageError("--goals measures its own local runs: not with --remote, "
                             "--from-json or --pick")
        _goals(out, runtime, cold, warm, warmup, quick, peer_rows)
        return
    if (write_manifest or write_template) and not do_pick:
        raise UsageError("--write-manifest/--write-template need --pick")
    if function_id and not write_template:
        raise UsageError("--function names the function of --write-template: pass both")
    if remote is not None:
        if do_pick or from_json:
            raise UsageError("--remote measures a deployed function: --pick and --from-json "
                             "apply to a local run only")
        _remote(remote, region, profile, endpoint_url, not no_local, model or "mnist",
                variants, memory, (cold, warm, warmup), quick, runtime, cold_fraction, out,
                event_file)
        return
    if region or profile or endpoint_url or no_local:
        raise UsageError("--region, --profile, --endpoint-url and --no-local go with --remote")
    if from_json and _is_remote_result(from_json):
        if do_pick:
            raise UsageError(f"--from-json {from_json} is a `bench --remote` result: --pick "
                             "picks among a local run's rows")
        _show_remote(from_json, out)
        return
    if from_json:
        result = BenchResult.load(from_json)
    else:
        from lambdalite.benchmark.runner import bench as run
        from lambdalite.cli_progress import RichProgress

        options = BenchOptions(
            model=model or "mnist", variants=parse_variants(variants),
            memory_sizes=parse_memory(memory), cold_starts=cold, warm=warm, warmup=warmup,
            quick=quick, runtime=runtime, timeout_s=timeout_s, arm64_sizes=not no_arm64,
            emulate_arm64=not no_emulation, floors=not no_floors, peer_rows=peer_rows,
            cold_fraction=cold_fraction, out=out, event=event_file)
        with RichProgress() as progress:
            result = run(options, progress=progress)
    paths = write_outputs(result, out)
    click.echo(paths.markdown.read_text())
    click.echo(f"results: {paths.json}\ntable:   {paths.markdown}\nchart:   {paths.chart}")
    if do_pick:
        folder = _model_folder(result, model, from_json) if write_manifest else None
        _pick(result, objective, max_accuracy_drop, max_size, folder, write_template,
              function_id)


def _goals(out: Path, runtime: str, cold: int | None, warm: int | None, warmup: int | None,
           quick: bool, peer_rows: bool | None) -> None:
    from click.core import ParameterSource

    from lambdalite.benchmark.goals import GoalOptions, run_goals
    from lambdalite.cli_progress import RichProgress

    given = click.get_current_context().get_parameter_source("runtime")
    options = GoalOptions(out=out, large=not quick,
                          throughput_calls=200 if quick else 2000,
                          throughput_rounds=1 if quick else 5,
                          cold_starts=cold or (1 if quick else 7),
                          warm=warm if warm is not None else 3 if quick else 20,
                          warmup=warmup if warmup is not None else 1 if quick else 2,
                          peer_rows=not quick if peer_rows is None else peer_rows)
    if given is not ParameterSource.DEFAULT:
        options = replace(options, runtime=runtime)
    with RichProgress() as progress:
        report = run_goals(options, progress=progress)
    click.echo("\n".join(report.lines()))
    click.echo(f"results: {report.save(out / 'goals.json')}")


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


def _remote(function: str, region: str | None, profile: str | None, endpoint_url: str | None,
            compare_local: bool, model: str, variants: str | None, memory: str | None,
            counts: tuple[int | None, int | None, int | None], quick: bool, runtime: str,
            cold_fraction: float, out: Path, event: Path | None) -> None:
    """``bench --remote``: flags -> ``RemoteOptions`` -> ``bench_remote``; table and JSON."""
    from lambdalite.benchmark.remote import RemoteOptions, bench_remote
    from lambdalite.cli_progress import RichProgress

    rows = parse_variants(variants)
    if rows is not None and len(rows) != 1:
        raise UsageError(f"--variants {variants!r}: --remote compares one local row with the "
                         "function (the row it serves); name one")
    cold, warm, warmup = counts
    options = RemoteOptions(
        function=function, region=region, profile=profile, endpoint_url=endpoint_url,
        model=model, variant=rows[0] if rows else None, memory_sizes=parse_memory(memory),
        cold_starts=cold, warm=warm, warmup=warmup, quick=quick, compare_local=compare_local,
        runtime=runtime, cold_fraction=cold_fraction, out=out, event=event)
    with RichProgress() as progress:
        result = bench_remote(options, progress=progress)
    stem = out / f"bench-remote-{result.function}"
    md = _write_remote_table(result, stem)
    click.echo(f"results: {result.save(stem.with_suffix('.json'))}\ntable:   {md}")


def _is_remote_result(path: Path) -> bool:
    from lambdalite.benchmark.remote import RemoteResult

    return RemoteResult.is_one(path)


def _show_remote(path: Path, out: Path) -> None:
    """``bench --from-json`` of a saved ``bench --remote`` result: its table again."""
    from lambdalite.benchmark.remote import RemoteResult

    result = RemoteResult.load(path)
    md = _write_remote_table(result, out / f"bench-remote-{result.function}")
    click.echo(f"results: {path} (read)\ntable:   {md}")


def _write_remote_table(result: RemoteResult, stem: Path) -> Path:
    """The Markdown table of ``result``, printed and written next to ``stem``."""
    from lambdalite.benchmark.remote_table import render_remote

    table = render_remote(result)
    md = stem.with_suffix(".md")
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(table)
    click.echo(table)
    return md
