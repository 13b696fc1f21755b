"""``lambdalite predict MODEL_DIR_OR_TEMPLATE FILE...``: the answers on stdout (one line per
file, in order), Lambda's REPORT line of each call on stderr; exit 1 when a call failed."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import click

from lambdalite.bundle.options import Backend
from lambdalite.cli import ApiCommand
from lambdalite.local.triggers import TRIGGER_KINDS


@click.command(cls=ApiCommand, fields={"files": "FILE...", "target": "MODEL_DIR_OR_TEMPLATE"})
@click.argument("target", metavar="MODEL_DIR_OR_TEMPLATE", type=click.Path(path_type=Path))
@click.argument("files", metavar="FILE...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--function", help="The template's function (when it has several): logical id "
                                 "or FunctionName.")
@click.option("--trigger", type=click.Choice(TRIGGER_KINDS),
              help="Call the function as this trigger does (default: its first Api/HttpApi "
                   "event, else its Function URL, else a direct invocation).")
@click.option("--variant", help="A model folder's variant to build (default: the manifest's).")
@click.option("--backend", type=click.Choice(get_args(Backend)), default="litert",
              show_default=True, help="A model folder's inference runtime.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where a model folder's builds are kept (default: $LAMBDALITE_CACHE_DIR, "
                   "else ~/.cache/lambdalite/predict).")
@click.option("--python", help="Interpreter for the function (3.12 or a path).")
@click.option("--logs", is_flag=True, help="Print each call's whole log on stderr, not only "
                                           "its REPORT line.")
def predict(target: Path, files: tuple[Path, ...], function: str | None, trigger: str | None,
            variant: str | None, backend: str, cache_dir: Path | None, python: str | None,
            logs: bool) -> None:
    """Send each FILE (an image, a .npy, or a .json of inputs) to the function of
    MODEL_DIR_OR_TEMPLATE in the local Lambda and print its answer.

    A model folder (or `mnist`/`stegastamp`, the bundled examples) is built for this machine's
    runtime once and the build reused until the folder changes; a template's function runs as
    the template says. The first call is a cold start, the next ones warm.
    """
    from lambdalite.cli_progress import RichProgress
    from lambdalite.local.errors import FunctionFailed
    from lambdalite.prediction.api import PredictOptions
    from lambdalite.prediction.api import predict as run

    options = PredictOptions(target=target, files=files, function=function, trigger=trigger,
                             variant=variant, backend=backend,  # type: ignore[arg-type]
                             cache_dir=cache_dir, python=python)
    with RichProgress(transient=True) as progress:
        result = run(options, progress=progress)
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    built = "built now" if result.built else "reused"
    click.echo(f"predict: {result.function} ({result.template}, {built}) via {result.trigger}",
               err=True)
    failed = []
    for call in result.calls:
        click.echo(call.result.logs if logs else call.result.report.line(), err=True,
                   nl=not logs)
        click.echo(call.reply.body.decode("utf-8", "replace"))
        if not call.reply.ok:
            status = f"HTTP {call.reply.status}" if call.reply.status else (
                call.result.error_type or "Unhandled")
            failed.append(f"{call.file} ({status})")
    if failed:
        raise FunctionFailed(f"{result.function} failed for {', '.join(failed)}")


@click.command()
@click.argument("target", metavar="[MODEL_DIR_OR_TEMPLATE]", default="template.yaml",
                type=click.Path(path_type=Path))
@click.option("--port", "-p", default=3000, show_default=True, type=click.IntRange(0, 65535),
              help="The API Gateway front's port (127.0.0.1).")
@click.option("--playground-port", default=3100, show_default=True,
              type=click.IntRange(0, 65535), help="The page's port; 0 picks a free one.")
@click.option("--url-port", default=3010, show_default=True, type=click.IntRange(0, 65535),
              help="First port of the Function URLs.")
@click.option("--variant", help="A model folder's variant to build (default: the manifest's).")
@click.option("--backend", type=click.Choice(get_args(Backend)), default="litert",
              show_default=True, help="A model folder's inference runtime.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where a model folder's builds are kept.")
@click.option("--python", help="Interpreter for the functions (3.12 or a path).")
@click.pass_context
def playground(ctx: click.Context, target: Path, port: int, playground_port: int, url_port: int,
               variant: str | None, backend: str, cache_dir: Path | None,
               python: str | None) -> None:
    """Serve the browser playground for MODEL_DIR_OR_TEMPLATE (default: template.yaml here;
    `mnist`: the bundled example) until Ctrl-C: `lambdalite local start-api --playground`,
    with a model folder built for this machine first (and reused, as `predict` does)."""
    from lambdalite.cli_progress import RichProgress
    from lambdalite.local.cli import start_api
    from lambdalite.prediction.api import template_for

    with RichProgress(transient=True) as progress:
        template, _ = template_for(target, variant=variant, backend=backend,  # type: ignore[arg-type]
                                   cache_dir=cache_dir, progress=progress)
    ctx.invoke(start_api, template_path=template, port=port, playground=True,
               playground_port=playground_port, url_port=url_port, python=python)
