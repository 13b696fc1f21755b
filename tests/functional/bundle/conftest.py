"""Real builds of the MNIST LiteRT function, made once per session and shared.

pip installs from the registries (install time), through pip's cache.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

import lambdalite
from lambdalite.bundle.api import BuildResult, PackageOptions, build_package
from lambdalite.bundle.builds import BuildOutcome
from lambdalite.bundle.slim import find_interpreter
from lambdalite.examples import mnist_example
from lambdalite.progress import Callback

EXAMPLE = mnist_example()
MODEL_DIR = EXAMPLE / "model"
EVENT = EXAMPLE / "events" / "event.json"
DIGITS = EXAMPLE / "digits"


def _build(factory: pytest.TempPathFactory, runtime: str, arch: str, **kw: object) -> BuildResult:
    out = factory.mktemp(f"{runtime}-{arch}")
    return build_package(PackageOptions(model_dir=MODEL_DIR, out_dir=out, runtime=runtime,
                                        arch=arch, **kw))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def built_311_x86(tmp_path_factory: pytest.TempPathFactory
                  ) -> tuple[BuildOutcome, list[tuple[int, int | None]]]:
    """The public path, ``lambdalite.build`` for one arch with its template, and the progress
    it reported as (done, total)."""
    seen: list[tuple[int, int | None]] = []
    outcome = lambdalite.build(
        lambdalite.BuildOptions(model_dir=MODEL_DIR, out_dir=tmp_path_factory.mktemp("api"),
                                runtime="python3.11", archs=("x86_64",)),
        progress=Callback(lambda _what, done, total: seen.append((done, total))))
    return outcome, seen


@pytest.fixture(scope="session")
def zip_311_x86(built_311_x86: tuple[BuildOutcome, list[tuple[int, int | None]]]
                ) -> BuildResult:
    return built_311_x86[0].result("x86_64")


# ai-edge-litert 2.1.1+ aarch64 wheels need GLIBCXX_3.4.30 (GCC 12), newer than Amazon Linux
# 2023's libstdc++ (GCC 11, GLIBCXX_3.4.29): the build steps down to the newest release that
# fits (versions.py; measured: 2.1.0). Built as an image so that the pick is made by the
# libstdc++ check alone; the zip case is in test_build_checks.
@pytest.fixture(scope="session")
def image_312_arm64(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return _build(tmp_path_factory, "python3.12", "arm64", package_type="image")


@pytest.fixture(scope="session")
def zip_312_x86(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    if find_interpreter("3.12") is None:
        pytest.skip("no python3.12 on this machine to run a python3.12 build")
    return _build(tmp_path_factory, "python3.12", "x86_64")


@pytest.fixture(scope="session")
def image_311_x86(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return _build(tmp_path_factory, "python3.11", "x86_64", package_type="image")


@pytest.fixture(scope="session")
def mnist_event() -> tuple[dict, int]:
    """lambdalite/examples/mnist/events/event.json and its true label (from the digit file it carries)."""
    event = json.loads(EVENT.read_text())
    body = base64.b64decode(event["body"])
    labels = [int(p.name.split("_")[0]) for p in DIGITS.glob("*.png") if p.read_bytes() == body]
    assert labels, "event.json's image is not one of lambdalite/examples/mnist/digits"
    return event, labels[0]


RUN_ISOLATED = """
import json, sys
sys.path[:0] = [sys.argv[1]]
from lambdalite.function.handler import lambda_handler
out = lambda_handler(json.load(open(sys.argv[2])), None)
print(json.dumps({"response": out, "numpy": sys.modules["numpy"].__file__,
                  "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


@pytest.fixture(scope="session")
def run_isolated():
    return _run_isolated


def _run_isolated(python: str, task_root: Path) -> dict:
    """Call the handler in a fresh interpreter that sees only the stdlib and the task root.

    -I: no user site, no PYTHON* env; -S: no site-packages (the venv's numpy stays out).
    """
    proc = subprocess.run(
        [python, "-I", "-S", "-c", RUN_ISOLATED, str(task_root), str(EVENT)],
        capture_output=True, text=True, timeout=120,
        env={"LAMBDA_TASK_ROOT": str(task_root), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
