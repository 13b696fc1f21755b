from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lambdalite.build.errors import InstallFailed
from lambdalite.build.install import install, pip_command
from lambdalite.build.targets import Target

T = Target.of("python3.11", "x86_64")


def test_pip_command_installs_into_the_target_for_the_target(tmp_path: Path):
    cmd = pip_command(tmp_path, ["numpy"], T)
    assert cmd[1:4] == ["-m", "pip", "install"]
    assert cmd[cmd.index("--target") + 1] == str(tmp_path)
    assert "--no-compile" in cmd and cmd[-1] == "numpy"
    assert "--no-cache-dir" not in cmd  # pip's cache makes rebuilds fast


def test_pip_failure_becomes_install_failed_with_pips_reason(tmp_path: Path):
    def runner(cmd):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for x==9\n")

    with pytest.raises(InstallFailed, match="No matching distribution found for x==9") as err:
        install(tmp_path / "t", ["x==9"], T, runner=runner)
    assert "python3.11 x86_64" in err.value.message and err.value.exit_code == 5
