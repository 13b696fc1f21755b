"""How long the function takes to decode and check a tensor request, warm (issue 10's budget:
a 1 MB tensor in at most 5 ms).

    .venv/bin/python tools/bench_tensor_decode.py            # --repeat 200 --values 144000

Measures what the function does with an invocation's event before the model runs: unwrap the
event (``events.parse``), base64-decode the ``.npy``, load it without pickle and check it
against the input (``tensors.parse_inputs``: shape, dtype, finite values). The event arrives
as JSON already parsed by the runtime client, as in Lambda. Prints the median and the 95th
percentile over ``--repeat`` runs after ``--warmup`` runs, for the .npy (direct invoke and an
HTTP ``application/x-npy`` body) and, for comparison, the same values as a JSON list, with the
machine it ran on. Not a test: numbers depend on the machine (docs/FUNCTION.md has ours).
"""

from __future__ import annotations

import argparse
import base64
import functools
import io
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lambdalite.function.events import Limits, parse  # noqa: E402
from lambdalite.function.tensors import TensorLimits, parse_inputs  # noqa: E402
from lambdalite.lambda_facts import SYNC_PAYLOAD_LIMIT  # noqa: E402
from lambdalite.manifest import InputSpec  # noqa: E402

LIMITS = Limits(max_images=16, max_payload_bytes=SYNC_PAYLOAD_LIMIT)
TENSOR_LIMITS = TensorLimits(max_batch=1024, max_payload_bytes=SYNC_PAYLOAD_LIMIT)


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{model}, {cpus} CPUs available, {platform.machine()}, Python "
            f"{platform.python_version()}, numpy {np.__version__}")


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def timed(step: Callable[[], Any], warmup: int, repeat: int) -> tuple[float, float]:
    for _ in range(warmup):
        step()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        samples.append((time.perf_counter() - start) * 1000.0)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--values", type=int, default=144_000, help="float32 values (default 144000)")
    args.add_argument("--repeat", type=int, default=200)
    args.add_argument("--warmup", type=int, default=20)
    opts = args.parse_args(argv)

    spec = InputSpec("x", "float32", [-1, opts.values])
    x = np.random.default_rng(0).normal(size=(1, opts.values)).astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, x)
    raw = buf.getvalue()
    text = base64.b64encode(raw).decode()
    direct = {"inputs": {"npy": text}}
    http = {"version": "2.0", "requestContext": {"http": {"method": "POST"}},
            "headers": {"content-type": "application/x-npy"}, "body": text,
            "isBase64Encoded": True}
    as_list = {"inputs": x.astype(np.float64).round(6).tolist()}

    def run(event: dict[str, Any]) -> None:
        request = parse(event, LIMITS)
        parse_inputs(request.inputs, [spec], TENSOR_LIMITS)

    print(f"machine   {machine()}")
    print(f"tensor    {opts.values} float32: .npy {len(raw):,} bytes, base64 {len(text):,} bytes;"
          f" as a JSON list {len(json.dumps(as_list)):,} bytes")
    print(f"runs      {opts.repeat} after {opts.warmup} warm-up runs (median / p95, ms)")
    events: list[tuple[str, dict[str, Any]]] = [
        ("npy, direct invoke", direct), ("npy, HTTP x-npy body", http), ("JSON list", as_list)]
    for name, event in events:
        median, p95 = timed(functools.partial(run, event), opts.warmup, opts.repeat)
        print(f"{name:<22}{median:8.3f} {p95:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
