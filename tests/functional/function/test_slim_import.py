"""The handler, imported as Lambda imports it (fresh interpreter, env config) and invoked once,
loads only allowed top-level modules: the standard library, numpy, Pillow, the runtime and
lambdalite itself. An allowlist, so a new dependency fails here until it is chosen on purpose.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lambdalite.function import ONNX_PACKAGES, RUNTIME_PACKAGES, SHARED_MODULES

LITERT_ALLOWED = frozenset({*RUNTIME_PACKAGES, "lambdalite"})
# What `import tensorflow` (2.21) loads by itself, before the function asks anything of it:
# Keras 3 and its deps (rich, namex, optree, ml_dtypes, h5py), protobuf (google), absl,
# and the plotting / HTTP stack TensorFlow's own modules import (matplotlib and its deps,
# requests and its deps; PySocks, which urllib3 imports when it is installed, as the dev extra's
# selenium installs it). None of them is imported by lambdalite.function.
TF_OWN = frozenset(
    {
        "absl", "astunparse", "backports", "certifi", "charset_normalizer", "cycler",
        "dateutil", "flatbuffers", "fontTools", "gast", "google", "h5py", "idna", "keras",
        "kiwisolver", "matplotlib", "ml_dtypes", "mpl_toolkits", "namex", "opt_einsum",
        "optree", "packaging", "pybind11_abseil", "pyparsing", "requests", "rich",
        "simplejson", "six", "socks", "termcolor", "typing_extensions", "urllib3", "wrapt",
    }
)  # fmt: skip
TF_ALLOWED = LITERT_ALLOWED | {"tensorflow"} | TF_OWN
# Interpreter-made module names, not packages: Cython's shared runtime modules, the
# sysconfig data module, multiprocessing's alias of __main__, and the 40-hex-digit module
# TensorFlow's import registers (a generated name, not an installed package).
GENERATED = re.compile(
    r"^(_cython_\d+_\d+_\d+|cython_runtime|_sysconfigdata_.*|__mp_main__|[0-9a-f]{40})$"
)

SCRIPT = """
import json, sys
top = lambda: sorted({m.split(".")[0] for m in sys.modules})
before = top()  # the interpreter's own start-up (site, .pth hooks): not ours to judge
import lambdalite.function.handler as h
after_import = top()
out = h.lambda_handler({"image": sys.argv[1]}, None)
print("RESULT " + json.dumps({"before": before, "after_import": after_import, "after_invoke": top(),
                              "modules": sorted(sys.modules), "out": out}))
"""


def _run(served: Any, backend: str) -> tuple[dict[str, Any], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMBDALITE_")} | {
        "LAMBDALITE_MODEL_DIR": str(served.model_dir),
        "LAMBDALITE_BACKEND": backend,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769",
    }
    sample = served.samples[0]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, sample.b64],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    result = json.loads(next(line for line in lines if line.startswith("RESULT "))[7:])
    assert result["out"] == {"predicted_label": sample.label}
    return result, lines


def _unexpected(result: dict[str, Any], allowed: frozenset[str]) -> dict[str, list[str]]:
    before = set(result["before"])

    def bad(names: list[str]) -> list[str]:
        return [
            n
            for n in names
            if n not in before
            and n not in sys.stdlib_module_names
            and n not in allowed
            and not GENERATED.match(n)
        ]

    return {"import": bad(result["after_import"]), "invoke": bad(result["after_invoke"])}


def _only_shared_lambdalite(result: dict[str, Any]) -> None:
    ours = {m for m in result["modules"] if m.split(".")[0] == "lambdalite"}
    assert {m for m in ours if not m.startswith("lambdalite.function")} <= set(SHARED_MODULES)


def test_litert_handler_loads_only_allowed_modules(served: Any) -> None:
    result, lines = _run(served, "litert")
    assert _unexpected(result, LITERT_ALLOWED) == {"import": [], "invoke": []}
    assert {"numpy", "PIL", "ai_edge_litert"} <= set(result["after_import"])
    assert "tensorflow" not in result["after_invoke"]
    _only_shared_lambdalite(result)
    init = json.loads(next(line for line in lines if '"message":"init"' in line))
    assert init["num_threads"] == 1 and init["xnnpack"] is True


@pytest.mark.tf
def test_tf_handler_adds_only_tensorflow_and_what_it_loads(served: Any) -> None:
    pytest.importorskip("tensorflow")
    manifest = json.loads((Path(served.model_dir) / "manifest.json").read_text())
    if not manifest["model"].get("tf_model"):
        pytest.skip("the served model has no kept TensorFlow model")
    result, _ = _run(served, "tf")
    assert _unexpected(result, TF_ALLOWED) == {"import": [], "invoke": []}
    assert "tensorflow" in result["after_import"]
    _only_shared_lambdalite(result)


@pytest.mark.tf
def test_onnxruntime_handler_adds_only_onnxruntime(served: Any, mnist_onnx_dir: Path) -> None:
    """The ONNX backend loads onnxruntime (and nothing it requires but never imports: sympy,
    protobuf, flatbuffers ...) and never LiteRT."""
    onnx_served = type(served)(mnist_onnx_dir, served.samples, "mnist")
    result, lines = _run(onnx_served, "onnxruntime")
    allowed = frozenset({*RUNTIME_PACKAGES, *ONNX_PACKAGES, "lambdalite"}) - {"ai_edge_litert"}
    assert _unexpected(result, allowed) == {"import": [], "invoke": []}
    assert "onnxruntime" in result["after_import"]
    assert "ai_edge_litert" not in result["after_invoke"]
    _only_shared_lambdalite(result)
    init = json.loads(next(line for line in lines if '"message":"init"' in line))
    assert (init["backend"], init["variant"], init["num_threads"]) == (
        "onnxruntime", "onnx_float32", 1)
