"""The example's command line: ``python -m lambdalite.examples.stegastamp encode SECRET OUT.png``
(and ``generate``); ``__main__`` runs it."""

from __future__ import annotations

from pathlib import Path

import click

from lambdalite.errors import LambdaliteError

PROG = "python -m lambdalite.examples.stegastamp"


@click.group()
def main() -> None:
    """The StegaStamp example: write a code image, or generate the model folder again."""


@main.command()
@click.argument("secret")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def encode(secret: str, out: Path) -> None:
    """Write the 400x400 code image of SECRET (up to 7 bytes of UTF-8) to OUT (.png)."""
    from lambdalite.examples.stegastamp import write_code

    write_code(secret, out)
    click.echo(f"wrote {out}: the code of {secret!r}")


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for model/ and events/ (default: the package's own example).")
def generate(out: Path | None) -> None:
    """Build the stand-in decoder with TensorFlow and convert it (model/, events/)."""
    from lambdalite.cli_progress import RichProgress
    from lambdalite.examples.stegastamp.generate import generate as run

    with RichProgress() as progress:
        result = run(out, progress=progress)
    for outcome in result.outcomes:
        click.echo(f"{outcome.variant}: {'ok' if outcome.ok else outcome.reason}")


def run(argv: list[str] | None = None) -> int:
    """The exit code: a LambdaliteError's own (2 for a secret that is too long)."""
    try:
        main.main(args=argv, prog_name=PROG, standalone_mode=False)
    except LambdaliteError as exc:
        click.secho(f"error: {exc.message}", fg="red", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0
