"""arm64 as a user runs it: `lambdalite build --arch arm64 --runtime python3.13
--extra-requirement bchlib` compiles bchlib (no wheel) and says so, and `lambdalite local
invoke` runs the package emulated and says that its figures are emulated."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lambdalite import emulation
from lambdalite.bundle.slim import find_interpreter
from lambdalite.examples import mnist_example

MNIST = mnist_example()


def lambdalite(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lambdalite", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    if importlib.util.find_spec("ziglang") is None or find_interpreter("3.13") is None:
        pytest.skip("compiling bchlib needs ziglang (lambdalite[compile]) and a CPython 3.13")
    out = tmp_path_factory.mktemp("arm64-cli")
    # ai-edge-litert 2.1.0 is what python3.13 arm64 steps down to; pinned to skip 8 screenings.
    proc = lambdalite("build", "--model-dir", str(MNIST / "model"), "--arch", "arm64",
                      "--runtime", "python3.13", "--extra-requirement", "bchlib",
                      "--extra-requirement", "ai-edge-litert==2.1.0", "--out", "build", cwd=out)
    return out, proc


def test_build_compiles_what_has_no_wheel_and_says_so(built):
    out, proc = built
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = " ".join(proc.stdout.split())     # rich wraps the table's cells
    assert "compiled │ bchlib 2.1.3: compiled from source for arm64" in table
    assert (out / "build" / "arm64" / "function.zip").is_file()


def test_local_invoke_runs_the_arm64_package_emulated(built):
    out, proc = built
    why = emulation.why_not_ready()
    if why is not None:
        pytest.skip(f"arm64 cannot run emulated here: {why}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    invoke = lambdalite("local", "invoke", "-t", "build/template.yaml", "-e",
                        str(MNIST / "events" / "event.json"), cwd=out)
    assert invoke.returncode == 0, invoke.stderr[-3000:]
    assert json.loads(json.loads(invoke.stdout)["body"]) == {"predicted_label": 7}
    assert "warning: InferenceFunction: arm64 runs emulated (qemu-aarch64-static" in invoke.stderr
    assert "INIT_START Runtime Version: python:3.13" in invoke.stderr


def test_setup_arm64_says_where_the_userland_is(tmp_path: Path):
    if emulation.find_qemu() is None:
        pytest.skip(f"qemu-user is not installed: {emulation.qemu_install_hint()}")
    proc = lambdalite("local", "setup-arm64", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith(f"arm64 userland ready in {emulation.userland_dir()} "
                                  "(Debian python3.13 3.13.")
    assert "arm64 python3.13 functions run emulated" in proc.stdout
