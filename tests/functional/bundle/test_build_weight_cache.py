"""A python3.12 x86_64 build with the XNNPACK weight cache (forced for MNIST, which is under the
auto size): the cache and its sidecar ship next to the variant, ml_dtypes is spared from slimming,
and the slimmed package, run by python3.12, serves through CompiledModel with the cache."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import pytest

from lambdalite.bundle.api import PackageOptions, build_package
from lambdalite.bundle.slim import find_interpreter
from lambdalite.examples import mnist_example

PYTHON = find_interpreter("3.12")
pytestmark = pytest.mark.skipif(PYTHON is None or platform.machine() != "x86_64",
                                reason="needs python3.12 on an x86_64 machine")

RUN = """
import json, sys
import lambdalite.function.handler as h
print("RESULT " + json.dumps(h.lambda_handler(json.load(open(sys.argv[1])), None)))
"""


def test_python312_build_ships_a_cache_the_package_uses(tmp_path: Path) -> None:
    example = mnist_example()
    result = build_package(PackageOptions(model_dir=example / "model", out_dir=tmp_path,
                                          runtime="python3.12", variant="float32",
                                          weight_cache=True))
    root = result.task_root
    model = root / "model"
    assert sorted(p.name for p in model.iterdir()) == [
        "float32.tflite", "float32.tflite.xnnpack_cache", "float32.tflite.xnnpack_cache.json",
        "manifest.json"]
    assert (root / "ml_dtypes").is_dir() and not (root / "tqdm").exists()
    assert any(n.startswith("XNNPACK weight cache built") for n in result.notes)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LAMBDALITE_"))}
    env |= {"PYTHONPATH": str(root), "LAMBDALITE_MODEL_DIR": str(model)}
    assert PYTHON is not None
    proc = subprocess.run([PYTHON, "-s", "-c", RUN, str(example / "events" / "event.json")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    init = next(json.loads(x) for x in lines if '"message":"init"' in x)
    assert init["api"] == "CompiledModel" and init["weight_cache"].startswith("used")
    answer = json.loads(next(x for x in lines if x.startswith("RESULT "))[7:])
    assert json.loads(answer["body"]) == {"predicted_label": 7}
