from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lambdalite.bundle.errors import InstallFailed
from lambdalite.bundle.install import install, pip_command
from lambdalite.bundle.targets import Target

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
    cache = tmp_path / "deps-cache"   # tests/unit/bundle/conftest.py
    assert not cache.exists() or not list(cache.iterdir())   # no half-filled entry left
    assert "python3.11 x86_64" in err.value.message and err.value.exit_code == 5


def _fake_pip(calls: list[list[str]]):
    def runner(cmd):
        calls.append(list(cmd))
        target = Path(cmd[cmd.index("--target") + 1])
        (target / "pkg").mkdir(parents=True)
        (target / "pkg" / "__init__.py").write_text(f"N = {len(calls)}\n")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    return runner


def test_deps_cache_installs_once_per_requirements_and_target(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LAMBDALITE_DEPS_CACHE", str(tmp_path / "cache"))
    calls: list[list[str]] = []
    runner = _fake_pip(calls)
    for name in ("a", "b"):
        cmd = install(tmp_path / name, ["numpy"], T, runner=runner)
        assert cmd[cmd.index("--target") + 1] == str(tmp_path / name)
        assert (tmp_path / name / "pkg" / "__init__.py").read_text() == "N = 1\n"
        assert not list((tmp_path / name).glob(".lambdalite-deps*"))
    assert len(calls) == 1
    install(tmp_path / "c", ["numpy", "pillow"], T, runner=runner)           # other requirements
    install(tmp_path / "d", ["numpy"], Target.of("python3.12", "arm64"), runner=runner)  # other target
    assert len(calls) == 3


def test_deps_cache_expires_and_can_be_turned_off(tmp_path: Path, monkeypatch):
    import lambdalite.bundle.install as mod

    monkeypatch.setenv("LAMBDALITE_DEPS_CACHE", str(tmp_path / "cache"))
    calls: list[list[str]] = []
    runner = _fake_pip(calls)
    install(tmp_path / "a", ["numpy"], T, runner=runner)
    monkeypatch.setattr(mod, "CACHE_MAX_AGE_S", 0)
    install(tmp_path / "b", ["numpy"], T, runner=runner)
    assert len(calls) == 2
    monkeypatch.setenv("LAMBDALITE_DEPS_CACHE", "off")
    install(tmp_path / "c", ["numpy"], T, runner=runner)
    assert len(calls) == 3 and not (tmp_path / "cache" / "off").exists()


def _failing(stderr: str):
    return lambda cmd: subprocess.CompletedProcess(cmd, 1, "", stderr)


def test_a_conflict_gets_pips_reason_and_no_glibc_hint(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LAMBDALITE_DEPS_CACHE", "off")
    conflict = ("ERROR: Cannot install ai-edge-litert==1.4.0 and numpy<1.20 because these "
                "package versions have conflicting dependencies.\n"
                "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/...\n")
    with pytest.raises(InstallFailed) as err:
        install(tmp_path / "t", ["numpy<1.20"], T, runner=_failing(conflict))
    msg = err.value.message
    assert "conflicting dependencies" in msg
    assert msg.endswith("ResolutionImpossible: for help visit https://pip.pypa.io/....")
    assert "python3.12+" not in msg and "--package image" not in msg


def test_no_matching_distribution_says_which_releases_have_a_wheel(tmp_path: Path, monkeypatch):
    """`numpy===` (what pip printed for it): releases exist for the target, none matches."""
    monkeypatch.setenv("LAMBDALITE_DEPS_CACHE", "off")
    stderr = ("ERROR: Ignored the following versions that require a different python version: "
              "2.5.0 Requires-Python >=3.12\n"
              "ERROR: Could not find a version that satisfies the requirement numpy=== (from "
              "versions: 1.26.4, 2.0.0, 2.2.6)\nERROR: No matching distribution found for numpy===\n")
    with pytest.raises(InstallFailed) as err:
        install(tmp_path / "t", ["numpy==="], T, runner=_failing(stderr))
    msg = err.value.message
    assert "No matching distribution found for numpy===" in msg and "Ignored" not in msg
    assert "go up to 2.2.6 and numpy=== matches none of them" in msg
    assert "--package image" not in msg


def test_no_wheel_for_the_target_at_all_says_pick_a_newer_runtime(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LAMBDALITE_DEPS_CACHE", "off")
    stderr = ("ERROR: Could not find a version that satisfies the requirement x (from versions: "
              "none)\nERROR: No matching distribution found for x\n")
    with pytest.raises(InstallFailed) as err:
        install(tmp_path / "t", ["x"], T, runner=_failing(stderr))
    msg = err.value.message
    assert "No release of x has a wheel for python3.11 x86_64" in msg
    assert "python3.12+ has glibc 2.34" in msg and "--package image" not in msg
