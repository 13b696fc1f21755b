"""The ``lambdalite`` command: a thin front over the components.

Each subcommand lives with its component (``lambdalite/<component>/cli.py``) and
is imported only when it is run, so ``lambdalite --help`` stays fast and
``lambdalite build`` never imports TensorFlow.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

import click

from lambdalite import __version__
from lambdalite.errors import LambdaliteError, OptionError

# name -> (module, attribute, one-line help shown by `lambdalite --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "train": ("lambdalite.examples.cli", "train", "Train the bundled MNIST example model."),
    "convert": ("lambdalite.conversion.cli", "convert", "Convert a TF/Keras model to TFLite variants."),
    "evaluate": ("lambdalite.conversion.cli", "evaluate", "Evaluate every variant of a manifest."),
    "build": ("lambdalite.bundle.cli", "build", "Build a Lambda zip or image for x86_64/arm64."),
    "template": ("lambdalite.bundle.cli", "template", "Write a SAM template.yaml for the function."),
    "deploy": ("lambdalite.bundle.cli", "deploy", "Deploy with `sam deploy` (or print the commands)."),
    "local": ("lambdalite.local.cli", "local", "Run functions in a local Lambda environment."),
    "predict": ("lambdalite.prediction.cli", "predict", "Send files to a model's function, print the answers."),
    "playground": ("lambdalite.prediction.cli", "playground", "Try a model's function in the browser (local)."),
    "bench": ("lambdalite.benchmark.cli", "bench", "Measure size, cold start, latency, memory, cost."),
}


class ApiCommand(click.Command):
    """A command that maps its flags onto a ``lambdalite`` API call: the API's ``OptionError``
    names option fields, shown as this command's flags (a parameter of the field's name, or
    ``fields``: field -> flag where the names differ)."""

    def __init__(self, *args: Any, fields: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = dict(fields or {})

    def flags(self) -> dict[str, str]:
        names = {p.name: _flag(p) for p in self.params if p.name}
        return {**names, **self.fields}

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OptionError as err:
            raise err.renamed(self.flags()) from err


def _flag(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.human_readable_name


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module = importlib.import_module(target[0])
        command = getattr(module, target[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table, so --help does not import every component.
        rows = [(name, help_) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lambdalite")
def cli() -> None:
    """TensorFlow model -> small, fast AWS Lambda function, measured before it ships."""


def main(argv: list[str] | None = None) -> int:
    try:
        # standalone_mode=False: click returns ctx.exit(n)'s code instead of raising SystemExit.
        rv = cli.main(args=argv, prog_name="lambdalite", standalone_mode=False)
    except LambdaliteError as exc:
        click.secho(f"error: {exc.message}", fg="red", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
