from __future__ import annotations

import subprocess
import sys

from lambdalite import __version__
from lambdalite.cli import COMMANDS, main


def test_help_lists_every_command_without_importing_them() -> None:
    code = (
        "import sys; from lambdalite.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('tensorflow', 'matplotlib', 'boto3', 'lambdalite.benchmark',"
        " 'lambdalite.conversion.cli') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    for name in COMMANDS:
        assert name in out.stdout
    assert "HEAVY []" in out.stdout


def test_version(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_a_usage_error() -> None:
    assert main(["no-such-command"]) == 2


def test_a_command_exit_code_reaches_the_shell(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import click

    from lambdalite import cli as cli_module

    @click.command()
    @click.pass_context
    def failing(ctx: click.Context) -> None:
        ctx.exit(3)

    monkeypatch.setitem(cli_module.COMMANDS, "failing", ("tests_failing", "failing", "x"))
    monkeypatch.setitem(sys.modules, "tests_failing", type(sys)("tests_failing"))
    sys.modules["tests_failing"].failing = failing  # type: ignore[attr-defined]
    assert main(["failing"]) == 3
