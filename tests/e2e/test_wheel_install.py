"""lambdalite as a user installs it: the wheel (not an editable install, not a checkout) in a
fresh virtual environment runs `lambdalite bench --model mnist --quick --no-arm64` from a
folder outside the checkout. The bundled MNIST example must come with the wheel.

The wheel is built from the project's files (``git ls-files``, untracked ones too), copied
out of the checkout, so nothing in the test can fall back on the checkout's folders.
Dependencies install as ``pip install`` does them (the registries through pip's cache)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROW = "float32"     # one row keeps the cost to one package build and four invocations

pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**env, "COLUMNS": "200"})
    assert proc.returncode == 0, f"{cmd}: {proc.stderr[-3000:]}"
    return proc


def _project_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs the project's git checkout to list its files")
    out = _run("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z",
               cwd=REPO, timeout=60).stdout
    return [f for f in out.split("\0") if f and (REPO / f).is_file()]


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    for rel in _project_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, src / rel)
    _run(sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", root / "dist",
         cwd=src, timeout=300)
    (wheel,) = (root / "dist").glob("lambdalite-*.whl")
    _run(sys.executable, "-m", "venv", root / "venv", cwd=root, timeout=120)
    bin_dir = root / "venv" / "bin"
    _run(bin_dir / "python", "-m", "pip", "install", "-q", wheel, cwd=root, timeout=900)
    shutil.rmtree(src)   # the installed wheel alone from here on
    return bin_dir


def test_the_installed_wheel_benches_the_bundled_mnist_model(venv_bin: Path, tmp_path: Path):
    where = _run(venv_bin / "python", "-c", "import lambdalite; print(lambdalite.__file__)",
                 cwd=tmp_path, timeout=60).stdout.strip()
    assert "site-packages" in where and not where.startswith(str(REPO))

    proc = _run(venv_bin / "lambdalite", "bench", "--model", "mnist", "--quick", "--no-arm64",
                "--variants", ROW, "--out", "results", cwd=tmp_path, timeout=900)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("| variant | memory | package size | zipped | cold start |")
    (row,) = [line for line in lines if line.startswith(f"| {ROW} (LiteRT) | 1024 MB |")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    cells = dict(zip(header, (c.strip() for c in row.strip("|").split("|")), strict=True))
    assert cells["package size"].endswith(" MB") and cells["cold start"].endswith(" ms")
    assert "failed" not in row and cells["accuracy"].endswith("%")      # accuracy recorded
    assert cells["over floor"].startswith("floor ")    # the floor handlers shipped in the wheel
    assert "site-packages/lambdalite/examples/mnist/model" in proc.stdout

    data = json.loads((tmp_path / "results" / "bench-mnist.json").read_text())
    assert {c["row"] for c in data["cells"]} == {ROW, "floor-noop", "floor-imports"}
    for cell in data["cells"]:
        assert cell["error"] is None and len(cell["warm"]) == 3
        assert cell["cold"][0]["init_duration_ms"] > 0


def test_the_installed_wheel_ships_the_playground_page(venv_bin: Path, tmp_path: Path):
    code = ("from importlib.resources import files; s = files('lambdalite.local.playground') / "
            "'static'; print(sorted(p.name for p in s.iterdir()))")
    proc = _run(venv_bin / "python", "-c", code, cwd=tmp_path, timeout=60)
    assert proc.stdout.strip() == "['index.html', 'playground.css', 'playground.js']"
