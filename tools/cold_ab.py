"""What the cold-start A/B tools share (``bench_cfs_period``, ``bench_blas_threads``): their
common arguments, one fresh environment's figures through the local Lambda, and the table of
medians per arm."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec

Sample = dict[str, float | None]
FIGURES = ("init", "first", "cold", "warm")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task-root", type=Path, required=True,
                        help="a built package's task root (lambdalite build ... --out B: "
                             "B/x86_64/task)")
    parser.add_argument("--runtime", default="python3.12")
    parser.add_argument("--memory", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write every sample here")


def fresh(spec: FunctionSpec, payload: bytes, warm: int) -> tuple[Sample, bytes]:
    """One new environment: INIT and the first call (Init Duration, Duration), then ``warm``
    calls (their Duration p50); and the first call's answer."""
    engine = LocalLambda({spec.name: spec}, concurrency=1)
    try:
        first = engine.invoke(spec.name, payload)
        if first.function_error:
            raise SystemExit(f"{spec.handler}: {first.payload[:300]!r}")
        durations = [engine.invoke(spec.name, payload).report.duration_ms for _ in range(warm)]
    finally:
        engine.close()
    init = first.report.init_duration_ms or 0.0
    return {"init": init, "first": first.report.duration_ms,
            "cold": init + first.report.duration_ms,
            "warm": statistics.median(durations) if durations else None}, first.payload


def print_medians(samples: Mapping[str, Sequence[Sample]]) -> dict[str, float]:
    """A Markdown table of each arm's medians; the cold start median by arm."""
    print("\n| arm | Init | first Duration | cold start | warm p50 |\n|---|---|---|---|---|")
    cold: dict[str, float] = {}
    for name, rows in samples.items():
        med = {k: statistics.median([v for r in rows if (v := r[k]) is not None] or [0.0])
               for k in FIGURES}
        cold[name] = med["cold"]
        print(f"| {name} | {med['init']:.1f} ms | {med['first']:.2f} ms | {med['cold']:.1f} ms "
              f"| {med['warm']:.2f} ms |")
    return cold
