"""`make demo` runs real CLI commands: each step must parse with the real command."""

from __future__ import annotations

import click
import pytest

from lambdalite.cli import cli
from lambdalite.examples import demo


@pytest.mark.parametrize("index", range(3))
def test_every_demo_step_is_a_valid_cli_call(index):
    _title, args = demo.steps("python3.11")[index]
    group_ctx = cli.make_context("lambdalite", [*args], resilient_parsing=False)
    name, command, rest = cli.resolve_command(group_ctx, [*args])
    assert command is not None and name in {"build", "local", "bench"}
    if isinstance(command, click.Group):          # `local invoke ...`
        sub_ctx = command.make_context(name, list(rest), parent=group_ctx)
        name, command, rest = command.resolve_command(sub_ctx, list(rest))
        assert command is not None
    command.make_context(name, list(rest), parent=group_ctx)   # raises on an unknown option


def test_the_demo_needs_no_tensorflow_and_runs_the_host_runtime():
    steps = demo.steps(demo.host_runtime())
    flat = [a for _, args in steps for a in args]
    assert "tf" not in flat[flat.index("--variants") + 1].split(",")
    assert flat.count(demo.host_runtime()) == 2          # build and bench
    assert [args[0] for _, args in steps] == ["build", "local", "bench"]
