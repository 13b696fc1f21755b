"""A function's INIT in CPU instructions (callgrind), against the imports-only floor, for built
task roots (issue 15: the cold start over the floor, measured so that the machine's load does
not blur it).

    .venv/bin/python tools/count_init.py build/x86_64/task                 # one package
    .venv/bin/python tools/count_init.py OLD/task NEW/task --python 3.12   # A/B, same run
    .venv/bin/python tools/count_init.py build/x86_64/task \
        --stage "import PIL.Image; PIL.Image.preinit()"                    # one more stage

Each figure is ``valgrind --tool=callgrind`` run of ``python -c "import awslambdaric.bootstrap;
STATEMENT"`` in the task root's environment (``LAMBDA_TASK_ROOT``, the task root and the
runtime client on ``sys.path``, the working folder /tmp so that no checkout shadows the
package), ``PYTHONHASHSEED=0`` and ``OPENBLAS_NUM_THREADS=1`` (OpenBLAS' idle threads would
add noise): the floor (``lambdalite.function.floors.imports``), the handler (INIT: imports,
manifest, model, warm-up) and any ``--stage``. Instruction counts repeat to within ~0.1 M
whatever else the machine runs; they are not milliseconds (docs/BENCHMARKS.md relates them
to the cold starts of the same packages). Needs valgrind and, for the Python of ``--python``,
awslambdaric in lambdalite's runtime-client cache (``python -m lambdalite.local.provision``).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lambdalite.local.interpreters import find_python, ric_dir  # noqa: E402

FLOOR = "import lambdalite.function.floors.imports"
HANDLER = "import lambdalite.function.handler"
_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(python: str, task: Path, ric: Path, statement: str) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1",
           "LAMBDA_TASK_ROOT": str(task), "PYTHONPATH": f"{task}{os.pathsep}{ric}"}
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-c",
         f"import awslambdaric.bootstrap; {statement}"],
        env=env, cwd="/tmp", capture_output=True, text=True, timeout=600, check=False)
    found = _COLLECTED.search(proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"{statement!r} in {task} failed ({proc.returncode}):\n"
                         f"{proc.stderr[-1500:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tasks", nargs="+", type=Path, help="built task roots (build/.../task)")
    parser.add_argument("--python", default="3.12", help="the runtime's Python [3.12]")
    parser.add_argument("--stage", action="append", default=[],
                        help="another statement to count after the floor's (repeatable)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    python = find_python(args.python)
    ric = ric_dir(args.python)
    if python is None or not (ric / "awslambdaric").is_dir():
        raise SystemExit(f"no Python {args.python} with awslambdaric: run "
                         "`python -m lambdalite.local.provision` (needs pyenv's Python)")
    stages = [("floor: imports only", FLOOR), ("function: INIT", HANDLER),
              *((s, f"{FLOOR}; {s}") for s in args.stage)]
    print("| task root | what | instructions | over the floor |")
    print("|---|---|---|---|")
    for task in args.tasks:
        floor = None
        for label, statement in stages:
            count = instructions(python, task.resolve(), ric, statement)
            floor = count if floor is None else floor
            over = "" if count == floor else f"{(count - floor) / 1e6:+.1f} M"
            print(f"| {task} | {label} | {count / 1e6:.1f} M | {over} |", flush=True)
    print(f"\n- callgrind, Python {args.python} ({python}), {platform.machine()}, "
          f"{os.cpu_count()} CPUs; counts, not times")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
