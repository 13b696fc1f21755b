"""The local engine's warm calls per second with 1 and 2 environments, and where its CPU goes.

    .venv/bin/python tools/bench_engine.py --task-root BUILD/x86_64/task   # --rounds 5 --calls 2000

Runs ``throughput.scaling`` (what ``lambdalite bench --goals`` runs: client threads in this
process calling ``LocalLambda.invoke``, the settings interleaved 1, 2, 1, 2 ...) on a built
MNIST package (``lambdalite build --model-dir lambdalite/examples/mnist/model --runtime
python3.12 --memory 3008 --out BUILD``), and prints per round: calls/s, the engine process's CPU
ms per call (every thread, client threads included), the runtime processes' CPU ms per call,
and the engine's CPU per call by thread group, with the machine and the load average. CPU per
call holds on a loaded machine where calls/s does not: the ratio's ceiling is the engine's
GIL-held CPU per call against one environment's wall time per call.

``--placement both`` runs each round with the engine's CPU placement on and off
(``local/limits/placement.py``); on a 2-CPU host placement changes nothing unless
``--cpus-per-environment 1`` (each environment on one CPU of its own). Not a test.
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
from lambdalite.benchmark.throughput import Round, Scaling, scaling  # noqa: E402
from lambdalite.local import environment as environment_module  # noqa: E402
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
    parser.add_argument("--placement", choices=("on", "off", "both"), default="on",
                        help="the engine's CPU placement; both: A/B, interleaved round by round")
    parser.add_argument("--cpus-per-environment", type=int, metavar="N",
                        help="place each environment on N CPUs instead of the vCPUs Lambda "
                             "shows it (2 or more: all of a 2-CPU host), to measure placement "
                             "where the host has too few CPUs for it")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="one more environment variable for the function (repeatable), "
                             "e.g. LAMBDALITE_NUM_THREADS=1")
    args = parser.parse_args()
    if args.cpus_per_environment is not None:
        count = args.cpus_per_environment
        environment_module.visible_vcpus = lambda memory_mb: count
    model_dir = resolve_model("mnist")
    payload = make_event(model_dir, Manifest.load(model_dir)).payload
    environment = {"LAMBDALITE_BACKEND": "litert"}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--env {item!r}: use NAME=VALUE")
        environment[name] = value
    spec = FunctionSpec(name="InferenceFunction",
                        handler="lambdalite.function.handler.lambda_handler",
                        code_dir=args.task_root.resolve(), runtime=args.runtime,
                        memory_mb=args.memory, timeout_s=30.0, environment=environment)
    print(f"machine: {machine()}")
    print(f"settings: MNIST float32 at {args.memory} MB, {args.runtime}, {args.rounds} rounds "
          f"of {args.calls} warm calls, environments {args.environments}, function environment "
          f"{environment}, CPUs an environment: {args.cpus_per_environment or 'as on Lambda'}; "
          f"load before: {load()}")
    before = cpu_times()
    placements = {"on": (True,), "off": (False,), "both": (True, False)}[args.placement]
    # With both, each round runs placed then unplaced, so that a drifting machine weighs alike
    results: dict[bool, list[Round]] = {placed: [] for placed in placements}
    for _ in range(args.rounds):
        for placed in placements:
            results[placed].extend(scaling(spec, payload, environments=args.environments,
                                           rounds=1, calls=args.calls,
                                           cpu_placement=placed).rounds)
    steal = steal_percent(before, cpu_times())
    for placed, rounds in results.items():
        result = Scaling(args.memory, tuple(rounds))
        print(f"\nCPU placement {'on' if placed else 'off'} (each environment on host CPUs of "
              "its own where there are enough: lambdalite/local/limits/placement.py)")
        print("| envs | calls/s | engine CPU ms/call | runtime CPU ms/call | errors | "
              "engine CPU ms/call by thread |")
        print("|---|---|---|---|---|---|")
        for row in result.rounds:
            print(show(row))
        medians = ", ".join(f"{n}: {result.median(n) or 0:.0f} calls/s"
                            for n in args.environments)
        ratio = result.speedup(max(args.environments))
        print(f"medians: {medians}; {max(args.environments)} vs 1: {ratio or 0:.2f}x")
    print(f"\nload after: {load()}; CPU steal (the hypervisor's share) during the rounds: "
          + ("n/a" if steal is None else f"{steal:.1f} %"))

if __name__ == "__main__":
    main()
