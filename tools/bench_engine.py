"""The local engine's warm calls per second with 1 and 2 environments, and where its CPU goes.

    .venv/bin/python tools/bench_engine.py --task-root BUILD/x86_64/task   # --rounds 5 --calls 2000

Runs ``throughput.scaling`` (what ``lambdalite bench --goals`` runs: client threads in this
process calling ``LocalLambda.invoke``, the settings interleaved 1, 2, 1, 2 ...) on a built
MNIST package (``lambdalite build --model-dir lambdalite/examples/mnist/model --runtime
python3.12 --memory 3008 --out BUILD``), and prints per round: calls/s, the engine process's CPU
ms per call (every thread, client threads included), the runtime processes' CPU ms per call,
and the engine's CPU per call by thread group, with the machine and the load average. CPU per
call holds on a loaded machine where calls/s does not: the ratio's ceiling is the engine's
GIL-held CPU per call against one environment's wall time per call. Not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lambdalite.benchmark.machine import cpu_times, steal_percent  # noqa: E402
from lambdalite.benchmark.models import make_event, resolve_model  # noqa: E402
from lambdalite.benchmark.throughput import Round, scaling  # noqa: E402
from lambdalite.local.engine_types import FunctionSpec  # noqa: E402
from lambdalite.local.limits import detect_mode  # noqa: E402
from lambdalite.manifest import Manifest  # noqa: E402


def machine() -> str:
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    return (f"{model}, {len(os.sched_getaffinity(0))} CPUs available, Python "
            f"{platform.python_version()}, limits: {detect_mode().value}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def show(row: Round) -> str:
    threads = ", ".join(f"{name} {seconds * 1000 / row.calls:.3f}"
                        for name, seconds in sorted(row.threads.items(), key=lambda i: -i[1])
                        if seconds * 1000 / row.calls >= 0.005)
    return (f"| {row.environments} | {row.calls_per_second:.0f} | "
            f"{row.engine_ms_per_call or 0:.3f} | {row.runtime_ms_per_call or 0:.3f} | "
            f"{row.errors} | {threads} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task-root", type=Path, required=True,
                        help="the task root of a built MNIST package (BUILD/x86_64/task)")
    parser.add_argument("--runtime", default="python3.12")
    parser.add_argument("--memory", type=int, default=3008)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--environments", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    model_dir = resolve_model("mnist")
    payload = make_event(model_dir, Manifest.load(model_dir)).payload
    spec = FunctionSpec(name="InferenceFunction",
                        handler="lambdalite.function.handler.lambda_handler", code_dir=args.task_root.resolve(), runtime=args.runtime,
                        memory_mb=args.memory, timeout_s=30.0,
                        environment={"LAMBDALITE_BACKEND": "litert"})
    print(f"machine: {machine()}")
    print(f"settings: MNIST float32 at {args.memory} MB, {args.runtime}, {args.rounds} rounds "
          f"of {args.calls} warm calls, environments {args.environments}; load before: {load()}")
    before = cpu_times()
    result = scaling(spec, payload, environments=args.environments, rounds=args.rounds,
                     calls=args.calls)
    print("\n| envs | calls/s | engine CPU ms/call | runtime CPU ms/call | errors | "
          "engine CPU ms/call by thread |")
    print("|---|---|---|---|---|---|")
    for row in result.rounds:
        print(show(row))
    medians = ", ".join(f"{n}: {result.median(n) or 0:.0f} calls/s" for n in args.environments)
    ratio = result.speedup(max(args.environments))
    steal = steal_percent(before, cpu_times())
    print(f"\nmedians: {medians}; {max(args.environments)} vs 1: {ratio or 0:.2f}x; "
          f"load after: {load()}; CPU steal (the hypervisor's share) during the rounds: "
          + ("n/a" if steal is None else f"{steal:.1f} %"))


if __name__ == "__main__":
    main()
