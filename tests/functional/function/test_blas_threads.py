"""numpy's BLAS on one thread in the function and its imports-only floor (function/blas.py):
set before numpy is imported, honoured by OpenBLAS (no worker thread), and a value the
function's environment sets wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambdalite.function.blas import OPENBLAS_NUM_THREADS

MODEL_DIR = Path(__file__).resolve().parents[3] / "lambdalite" / "examples" / "mnist" / "model"
ENTRY_POINTS = ("lambdalite.function.handler", "lambdalite.function.floors.imports")
# Records OPENBLAS_NUM_THREADS the moment numpy is first imported, imports the entry point as
# awslambdaric does, then counts this process's threads (the floor starts none of its own).
SCRIPT = """
import importlib, importlib.abc, json, os, sys
seen = {}
class Spy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and "numpy" not in seen:
            seen["numpy"] = os.environ.get("OPENBLAS_NUM_THREADS")
        return None
sys.meta_path.insert(0, Spy())
importlib.import_module(sys.argv[1])
threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
print("RESULT " + json.dumps({"at_numpy_import": seen.get("numpy", "numpy not imported"),
                              "threads": threads}))
"""


def run(entry_point: str, **extra: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LAMBDALITE_") and k != OPENBLAS_NUM_THREADS}
    env |= {"LAMBDALITE_MODEL_DIR": str(MODEL_DIR), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            **extra}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, entry_point], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_numpy_is_imported_with_one_blas_thread(entry_point: str) -> None:
    assert run(entry_point)["at_numpy_import"] == "1"


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_a_value_the_environment_sets_wins(entry_point: str) -> None:
    assert run(entry_point, OPENBLAS_NUM_THREADS="3")["at_numpy_import"] == "3"


CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


@pytest.mark.skipif(CPUS < 2 or not Path("/proc/self/task").is_dir(),
                    reason="OpenBLAS starts no worker on 1 CPU; threads counted in /proc")
def test_openblas_starts_no_worker_thread_then() -> None:
    floor = ENTRY_POINTS[1]
    alone = run(floor)["threads"]
    asked = run(floor, OPENBLAS_NUM_THREADS="2")["threads"]
    assert alone == 1            # the interpreter's thread only
    assert asked == 2            # numpy's own way on 2 CPUs: one worker more
