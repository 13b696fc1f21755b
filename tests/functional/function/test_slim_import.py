"""The handler, imported as Lambda imports it (fresh interpreter, env config), pulls in
nothing but the standard library, numpy, Pillow and ai_edge_litert."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from lambdalite.function import SHARED_MODULES

FORBIDDEN = (
    "tensorflow",
    "keras",
    "jax",
    "click",
    "rich",
    "yaml",
    "jsonschema",
    "matplotlib",
    "boto3",
    "botocore",
    "aws_lambda_powertools",
    "ml_dtypes",
    "google.protobuf",
    "awslambdaric",
    "lambdalite.cli",
    "lambdalite.convert",
    "lambdalite.build",
    "lambdalite.local",
    "lambdalite.bench",
    "lambdalite.examples",
)

SCRIPT = """
import json, sys
import lambdalite.function.handler as h
out = h.lambda_handler({"image": sys.argv[1]}, None)
print("RESULT " + json.dumps({"modules": sorted(sys.modules), "out": out}))
"""


def test_handler_import_is_slim(served):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMBDALITE_")} | {
        "LAMBDALITE_MODEL_DIR": str(served.model_dir),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769",
    }
    sample = served.samples[0]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, sample.b64],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    result = json.loads(next(line for line in lines if line.startswith("RESULT "))[7:])
    assert result["out"] == {"predicted_label": sample.label}
    modules = set(result["modules"])
    loaded = sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert loaded == []
    ours = {m for m in modules if m.startswith("lambdalite")}
    assert {m for m in ours if not m.startswith("lambdalite.function")} <= set(SHARED_MODULES)
    init = json.loads(next(line for line in lines if '"message":"init"' in line))
    assert init["num_threads"] == 1 and init["xnnpack"] is True
