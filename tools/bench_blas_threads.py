"""Cold starts with numpy's BLAS on one thread (the function's default) and on every CPU (numpy's
own), A/B in one run through the local Lambda.

    .venv/bin/python tools/bench_blas_threads.py --task-root BUILD/x86_64/task   # --runs 15
    .venv/bin/python tools/bench_blas_threads.py --task-root LARGE/image-x86_64/task --runs 7

``lambdalite/function/blas.py`` sets ``OPENBLAS_NUM_THREADS=1`` before the function (and its
imports-only floor) import numpy. This runs, interleaved (run i of every arm, then i+1), fresh
environments of a built package (MNIST's, or the large model's: its event is made from the
package's manifest) at ``--memory``: the imports-only floor and the function,
each with the default and with ``OPENBLAS_NUM_THREADS`` set to the CPUs the environment sees
(what numpy does unless told), and prints per arm the Init Duration, the first Duration, the
cold start (their sum) and the warm p50 (medians over the runs), each arm's function over its
floor, the machine and the CPU steal. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cold_ab import Sample, add_arguments, fresh, print_medians  # noqa: E402  (in tools/)

from lambdalite.benchmark.machine import collect, cpu_times, steal_percent  # noqa: E402
from lambdalite.benchmark.models import make_event  # noqa: E402
from lambdalite.function.blas import OPENBLAS_NUM_THREADS  # noqa: E402
from lambdalite.local.engine_types import FunctionSpec  # noqa: E402
from lambdalite.manifest import Manifest  # noqa: E402

HANDLERS = {"floor (imports)": "lambdalite.function.floors.imports.handler",
            "function": "lambdalite.function.handler.lambda_handler"}


def one(task_root: Path, handler: str, environment: dict[str, str], memory: int, runtime: str,
        payload: bytes, warm: int) -> Sample:
    spec = FunctionSpec(name="Blas", handler=handler, code_dir=task_root, runtime=runtime,
                        memory_mb=memory, timeout_s=60.0, environment=environment)
    return fresh(spec, payload, warm)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args()
    task_root = args.task_root.resolve()
    model = task_root / "model"
    payload = make_event(model, Manifest.load(model)).payload
    cpus = len(os.sched_getaffinity(0))
    settings = {"1 BLAS thread (default)": {},
                f"{cpus} BLAS threads (numpy's own)": {OPENBLAS_NUM_THREADS: str(cpus)}}
    machine = collect()
    print(f"machine: {machine.describe()}")
    print(f"settings: {args.runtime}, {args.memory} MB, {args.runs} fresh environments an arm, "
          f"interleaved, {args.warm} warm calls each; the environments see {cpus} CPUs")
    samples: dict[str, list[Sample]] = {
        f"{h}, {s}": [] for s in settings for h in HANDLERS}
    before = cpu_times()
    for i in range(args.runs):
        for setting, environment in settings.items():
            for name, handler in HANDLERS.items():
                samples[f"{name}, {setting}"].append(one(
                    task_root, handler, environment, args.memory, args.runtime, payload,
                    args.warm))
        print(f"run {i + 1}/{args.runs} done", file=sys.stderr)
    steal = steal_percent(before, cpu_times())
    cold = print_medians(samples)
    for setting in settings:
        gap = cold[f"function, {setting}"] - cold[f"floor (imports), {setting}"]
        print(f"{setting}: function over its floor {gap:+.1f} ms")
    print("CPU steal during the runs: " + ("n/a" if steal is None else f"{steal:.1f} %"))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine.to_dict(), "samples": samples,
                                         "steal_percent": steal}, indent=2) + "\n")


if __name__ == "__main__":
    main()
