"""Cold starts under the local engine's CPU cap in two CFS periods, A/B in one run.

    .venv/bin/python tools/bench_cfs_period.py --task-root BUILD/x86_64/task   # --runs 15

The engine enforces MemorySize/1769 vCPU as a CFS quota in Lambda's 20 ms period
(``limits/base.py``; the kernel's default, which it used before, is 100 ms). This runs,
interleaved (run i of every arm, then i+1), fresh environments of a built MNIST package at
``--memory``: the imports-only floor, the function and a control (one thread burning
``--spin-ms`` of CPU at INIT, a quarter of it per call, timing itself), each with both periods
(the same share of a vCPU), and prints per arm the Init Duration, the first Duration, the cold
start (their sum) and the warm p50 (medians over the runs), the function's cold start over its
period's floor, the control's wall times against the nominal share, the machine and the CPU
steal. Needs a cgroup mode (the fallback has no CPU cap). Not a test.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cold_ab import Sample, add_arguments, fresh, print_medians  # noqa: E402  (in tools/)

from lambdalite.benchmark.machine import collect, cpu_times, steal_percent  # noqa: E402
from lambdalite.local import environment  # noqa: E402
from lambdalite.local.engine_types import FunctionSpec  # noqa: E402
from lambdalite.local.limits import plan_limits  # noqa: E402

HANDLERS = {"floor (imports)": "lambdalite.function.floors.imports.handler",
            "function": "lambdalite.function.handler.lambda_handler",
            "spin": "spin.handler"}
PERIODS_US = (20_000, 100_000)
# The control arm: one thread burning SPIN_MS of CPU at INIT and in each call, its own wall
# time in the answer; under a share s it should take SPIN_MS / s in any period.
SPIN = """import time
def burn(ms):
    cpu, wall = time.thread_time(), time.perf_counter()
    while time.thread_time() - cpu < ms / 1000:
        pass
    return (time.perf_counter() - wall) * 1000
INIT_WALL_MS = burn({ms})
def handler(event, context):
    return {{"init_wall_ms": INIT_WALL_MS, "call_wall_ms": burn({ms} / 4)}}
"""


def one(task_root: Path, handler: str, period_us: int, memory: int, runtime: str,
        payload: bytes, warm: int) -> Sample:
    # what each new environment is given (the engine asks plan_limits with MemorySize alone)
    environment.plan_limits = functools.partial(plan_limits, period_us=period_us)
    spec = FunctionSpec(name="Period", handler=handler, code_dir=task_root, runtime=runtime,
                        memory_mb=memory, timeout_s=60.0)
    figures, answer = fresh(spec, payload, warm)
    spin = json.loads(answer) if handler == HANDLERS["spin"] else {}
    return {**figures, "spin_init_wall": spin.get("init_wall_ms"),
            "spin_call_wall": spin.get("call_wall_ms")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--spin-ms", type=int, default=200,
                        help="the control arm's CPU ms at INIT (a quarter of it per call)")
    args = parser.parse_args()
    payload = json.dumps(_event(args.task_root)).encode()
    machine = collect()
    print(f"machine: {machine.describe()}")
    print(f"settings: {args.runtime}, {args.memory} MB, {args.runs} fresh environments an arm, "
          f"interleaved, {args.warm} warm calls each; periods {PERIODS_US} us")
    arms = [(h, p) for p in PERIODS_US for h in HANDLERS]
    samples: dict[str, list[Sample]] = {
        f"{h}, {p // 1000} ms": [] for h, p in arms}
    before = cpu_times()
    with tempfile.TemporaryDirectory(prefix="lambdalite-spin-") as spin_dir:
        spin_root = Path(spin_dir)
        (spin_root / "spin.py").write_text(SPIN.format(ms=args.spin_ms))
        for i in range(args.runs):
            for handler, period in arms:
                root = spin_root if handler == "spin" else args.task_root.resolve()
                got = one(root, HANDLERS[handler], period, args.memory, args.runtime, payload,
                          args.warm)
                samples[f"{handler}, {period // 1000} ms"].append(got)
            print(f"run {i + 1}/{args.runs} done", file=sys.stderr)
    steal = steal_percent(before, cpu_times())
    cold = print_medians(samples)
    share = plan_limits(args.memory).vcpus
    for period in PERIODS_US:
        arm = f"{period // 1000} ms"
        gap = cold[f"function, {arm}"] - cold[f"floor (imports), {arm}"]
        walls = [statistics.median([v for r in samples[f"spin, {arm}"] if (v := r[k]) is not None])
                 for k in ("spin_init_wall", "spin_call_wall")]
        print(f"{arm} period: function over the floor {gap:+.1f} ms; spin: {args.spin_ms} ms of "
              f"CPU at INIT took {walls[0]:.1f} ms, {args.spin_ms / 4:g} ms in a call "
              f"{walls[1]:.1f} ms (at the nominal {share:.3f} vCPU: "
              f"{args.spin_ms / share:.1f} / {args.spin_ms / 4 / share:.1f} ms)")
    print("CPU steal during the runs: " + ("n/a" if steal is None else f"{steal:.1f} %"))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine.to_dict(), "samples": samples,
                                         "steal_percent": steal}, indent=2) + "\n")


def _event(task_root: Path) -> dict[str, str]:
    from lambdalite.benchmark.models import make_event
    from lambdalite.manifest import Manifest

    model = task_root / "model"
    return json.loads(make_event(model, Manifest.load(model)).payload)


if __name__ == "__main__":
    main()
