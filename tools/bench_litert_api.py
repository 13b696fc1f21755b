"""LiteRT's two CPU APIs side by side: the Interpreter the function uses, and CompiledModel with
and without an XNNPACK weight cache file (issue 15's cache lever).

    .venv/bin/python tools/bench_litert_api.py MODEL.tflite [--runs 3] [--python PY]

Each arm runs in a fresh ``--python`` process (one with ai-edge-litert 2.x: CompiledModel does
not exist in 1.x): import of the API, load (Interpreter: construct + allocate_tensors;
CompiledModel: from_file + buffers), the first call, the warm p50 of 10 calls and the peak RSS,
on zeros, one thread. The cache file (``CpuOptions.xnnpack_weight_cache_path`` takes a FILE; a
directory is silently ignored) is built once first, and its build time printed. Not a test: the
figures depend on the machine (docs/BENCHMARKS.md, "Levers", has ours).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = r"""
import json, resource, sys, time
api, model, cache = sys.argv[1], sys.argv[2], sys.argv[3]
import numpy as np
t0 = time.perf_counter()
if api == "interpreter":
    from ai_edge_litert.interpreter import Interpreter
    t1 = time.perf_counter()
    it = Interpreter(model_path=model, num_threads=1)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    x = np.zeros(d["shape"], d["dtype"])
    out = it.get_output_details()[0]["index"]
    t2 = time.perf_counter()
    def call():
        it.set_tensor(d["index"], x); it.invoke(); it.get_tensor(out)
else:
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.options import CpuOptions, Options
    t1 = time.perf_counter()
    cm = CompiledModel.from_file(model, options=Options(cpu_options=CpuOptions(
        num_threads=1, xnnpack_weight_cache_path=cache)))
    ins, outs = cm.create_input_buffers(0), cm.create_output_buffers(0)
    x = np.zeros(cm.get_input_buffer_requirements(0, 0)["buffer_size"] // 4, np.float32)
    t2 = time.perf_counter()
    def call():
        ins[0].write(x); cm.run_by_index(0, ins, outs)
a = time.perf_counter(); call(); first = time.perf_counter() - a
warm = []
for _ in range(10):
    a = time.perf_counter(); call(); warm.append(time.perf_counter() - a)
print("PROBE " + json.dumps({"import_ms": (t1 - t0) * 1e3, "load_ms": (t2 - t1) * 1e3,
      "first_ms": first * 1e3, "warm_ms": sorted(warm)[5] * 1e3,
      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
KEYS = ("import_ms", "load_ms", "first_ms", "warm_ms", "peak_rss_mb")


def probe(python: str, api: str, model: Path, cache: str) -> dict[str, float]:
    proc = subprocess.run([python, "-c", PROBE, api, str(model), cache], capture_output=True,
                          text=True, check=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PROBE "))
    return json.loads(line[6:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xnnpack-cache-") as tmp:
        cache = str(Path(tmp) / f"{args.model.stem}.xnnpack_cache")
        built = probe(args.python, "compiled", args.model, cache)
        size = Path(cache).stat().st_size if Path(cache).exists() else 0
        print(f"- building the cache (CompiledModel load with a missing cache file): "
              f"{built['load_ms']:.0f} ms, {size / 1e6:.1f} MB")
        arms = {"Interpreter": ("interpreter", ""), "CompiledModel": ("compiled", ""),
                "CompiledModel + weight cache": ("compiled", cache)}
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in arms}
        for _ in range(args.runs):   # interleaved: the machine's load falls on every arm
            for name, (api, path) in arms.items():
                samples[name].append(probe(args.python, api, args.model, path))
    print("| API | " + " | ".join(f"{k} p50" for k in KEYS) + " |")
    print("|---" * (len(KEYS) + 1) + "|")
    for name, runs in samples.items():
        cells = [f"{statistics.median(r[k] for r in runs):.1f}" for k in KEYS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"- {args.model.name}, {args.runs} fresh processes per arm, interleaved, {args.python}")


if __name__ == "__main__":
    main()
