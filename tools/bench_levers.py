"""The function-side cold-start levers, A/B in one run through the local Lambda (issue 15 b).

    .venv/bin/python tools/bench_levers.py                         # MNIST float32, 1024 MB
    .venv/bin/python tools/bench_levers.py --model large --package-type image --runs 5
    .venv/bin/python tools/bench_levers.py --model large --package-type image --runtime python3.12
    .venv/bin/python tools/bench_levers.py --inprocess             # timers, no Lambda engine

Builds the model's package once (``lambdalite.bundle``, the host's Python), then makes a copy
whose function code is ``--baseline``'s (a git ref: the code before the levers; .pyc compiled
as the build compiles them), and runs, interleaved so that the machine's load falls on every
arm alike, ``--runs`` fresh execution environments of each arm: the baseline, this tree, and
this tree with ``LAMBDALITE_WARMUP=off``. Each environment: INIT and the first invocation
(the REPORT line's Init Duration and Duration), then ``--warm`` calls (their Duration p50).

``--inprocess``: the same arms as fresh ``python`` processes that build the app and time each
step themselves (import, INIT, first call, warm p50), and where the first call's time goes:
the modules it imported. Not a test: the figures depend on the machine (docs/BENCHMARKS.md,
"Levers", has ours and says how loaded the machine was).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lambdalite import envvars  # noqa: E402  (after the path: run from a checkout)

FUNCTION = "Levers"

PROBE = r"""
import json, os, sys, time
t0 = time.perf_counter()
import lambdalite.function.app as appmod
from lambdalite.function.config import FunctionConfig
t1 = time.perf_counter()
app = appmod.create_app(FunctionConfig.from_environ(os.environ), stream=open(os.devnull, "w"))
t2 = time.perf_counter()
event = json.loads(sys.stdin.read())
before = set(sys.modules)
a = time.perf_counter(); app(event, None); first = time.perf_counter() - a
imported = sorted(set(sys.modules) - before)
warm = []
for _ in range(int(sys.argv[1])):
    a = time.perf_counter(); app(event, None); warm.append(time.perf_counter() - a)
print("PROBE " + json.dumps({"import_ms": (t1 - t0) * 1e3, "init_ms": (t2 - t1) * 1e3,
      "first_ms": first * 1e3, "warm_ms": sorted(warm)[len(warm) // 2] * 1e3,
      "imported": imported}))
"""


def baseline_code(ref: str, dest: Path) -> Path:
    """``ref``'s ``lambdalite`` package (git archive), unpacked into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "lambdalite"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def with_code(task_root: Path, code: Path, dest: Path, python: str) -> Path:
    """A copy of ``task_root`` whose function code is the same files from ``code``. Hard links
    for the rest: both arms then read the same model and libraries through one page cache."""
    shutil.copytree(task_root, dest, symlinks=True, copy_function=os.link)
    shutil.rmtree(dest / "lambdalite")
    for src in sorted((code / "lambdalite").rglob("*.py")):
        rel = src.relative_to(code)
        if (task_root / rel).exists() or rel.parts[:2] == ("lambdalite", "function"):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / rel)
    subprocess.run([python, "-m", "compileall", "-q", "-f", "--invalidation-mode",
                    "unchecked-hash", str(dest / "lambdalite")], check=True)
    return dest


def build(model: str, variant: str, out: Path, package_type: str, runtime: str
          ) -> tuple[Path, bytes, Path]:
    """(task root, event payload, model folder) of the model's package for the host's Python."""
    from lambdalite.benchmark.models import make_event, resolve_model
    from lambdalite.bundle.api import PackageOptions, build_package
    from lambdalite.manifest import Manifest

    model_dir = resolve_model(model)
    result = build_package(PackageOptions(model_dir=model_dir, out_dir=out, variant=variant,
                                          runtime=runtime,
                                          package_type=package_type))  # type: ignore[arg-type]
    return result.task_root, make_event(model_dir, Manifest.load(model_dir)).payload, model_dir


def without_cache(task_root: Path, dest: Path) -> Path:
    """``task_root`` without the XNNPACK weight cache's sidecar (so the Interpreter runs)."""
    shutil.copytree(task_root, dest, symlinks=True, copy_function=os.link)
    for sidecar in (dest / "model").glob("*.xnnpack_cache.json"):
        sidecar.unlink()
    return dest


def run_lambda(arms: dict[str, tuple[Path, dict[str, str]]], payload: bytes, memory: int,
               runs: int, warm: int, runtime: str) -> dict[str, list[dict[str, Any]]]:
    from lambdalite.local.engine import LocalLambda
    from lambdalite.local.engine_types import FunctionSpec

    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in arms}
    for i in range(runs):
        for name, (root, env) in arms.items():
            spec = FunctionSpec(name=FUNCTION, handler="lambdalite.function.handler.lambda_handler",
                                code_dir=root, runtime=runtime, memory_mb=memory,
                                timeout_s=60.0, architecture="x86_64", environment=env)
            engine = LocalLambda({FUNCTION: spec}, concurrency=1)
            try:
                first = engine.invoke(FUNCTION, payload)
                if first.function_error:
                    raise SystemExit(f"{name}: {first.payload[:300]!r}")
                durations = [engine.invoke(FUNCTION, payload).report.duration_ms
                             for _ in range(warm)]
            finally:
                engine.close()
            rep = first.report
            samples[name].append({"init": rep.init_duration_ms, "first": rep.duration_ms,
                                  "warm": statistics.median(durations) if durations else None,
                                  "memory": rep.max_memory_used_mb})
            print(f"run {i + 1}/{runs} {name}: init {rep.init_duration_ms} ms, first "
                  f"{rep.duration_ms} ms", file=sys.stderr)
    return samples


def run_inprocess(arms: dict[str, tuple[Path, dict[str, str]]], payload: bytes, model_dir: Path,
                  runs: int, warm: int, python: str) -> dict[str, list[dict[str, Any]]]:
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in arms}
    for _ in range(runs):
        for name, (root, env) in arms.items():
            child = {k: v for k, v in os.environ.items() if not k.startswith("LAMBDALITE_")}
            child |= env | {"PYTHONPATH": str(root), envvars.MODEL_DIR: str(model_dir),
                            envvars.NUM_THREADS: "1"}
            proc = subprocess.run([python, "-s", "-c", PROBE, str(warm)],
                                  input=payload.decode(), env=child, capture_output=True,
                                  text=True, cwd=root, check=True)
            line = next(x for x in proc.stdout.splitlines() if x.startswith("PROBE "))
            samples[name].append(json.loads(line[6:]))
    return samples


def table(samples: dict[str, list[dict[str, Any]]], keys: list[str]) -> str:
    rows = ["| arm | " + " | ".join(f"{k} p50" for k in keys) + " |",
            "|---" * (len(keys) + 1) + "|"]
    for name, runs in samples.items():
        cells = []
        for k in keys:
            values = [r[k] for r in runs if r.get(k) is not None]
            cells.append(f"{statistics.median(values):.1f}" if values else "-")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="mnist")
    parser.add_argument("--variant", default="float32")
    parser.add_argument("--memory", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--baseline", help="git ref of the code before the levers [the merge "
                        "base of HEAD and main]")
    parser.add_argument("--package-type", choices=("zip", "image"), default="zip",
                        help="image for a model over the zip limits (large float32)")
    parser.add_argument("--runtime", default=f"python{sys.version_info.major}."
                        f"{sys.version_info.minor}", help="python3.12+: ai-edge-litert 2.x, "
                        "the weight cache for models of 64 MB or more [the host's]")
    parser.add_argument("--inprocess", action="store_true")
    parser.add_argument("--json", type=Path, help="write the raw samples here")
    args = parser.parse_args()
    if args.baseline is None:
        args.baseline = subprocess.run(["git", "-C", str(REPO), "merge-base", "HEAD", "main"],
                                       check=True, capture_output=True, text=True
                                       ).stdout.strip()[:10]
    with tempfile.TemporaryDirectory(prefix="levers-") as tmp:
        work = Path(tmp)
        task_root, payload, model_dir = build(args.model, args.variant, work / "build",
                                              args.package_type, args.runtime)
        from lambdalite.bundle.slim import find_interpreter

        python = find_interpreter(args.runtime.removeprefix("python")) or sys.executable
        base = with_code(task_root, baseline_code(args.baseline, work / "base-src"),
                         work / "baseline", python)
        off = {envvars.WARMUP: "off"}
        arms = {f"baseline ({args.baseline})": (base, {}), "levers": (task_root, {}),
                "levers, warm-up off": (task_root, off)}
        if list((task_root / "model").glob("*.xnnpack_cache.json")):
            arms["levers, no weight cache"] = (without_cache(task_root, work / "nocache"), {})
        if args.inprocess:
            samples = run_inprocess(arms, payload, task_root / "model", args.runs, args.warm,
                                    python)
            print(table(samples, ["import_ms", "init_ms", "first_ms", "warm_ms"]))
            for name, runs in samples.items():
                print(f"- {name}: the first call imported {runs[0]['imported'] or 'nothing'}")
        else:
            samples = run_lambda(arms, payload, args.memory, args.runs, args.warm,
                                 args.runtime)
            for runs in samples.values():
                for r in runs:
                    r["cold"] = r["init"] + r["first"]
            print(table(samples, ["init", "first", "cold", "warm", "memory"]))
        print(f"- {args.model} {args.variant}, {args.runtime}, {args.memory} MB, {args.runs} fresh environments "
              f"per arm, interleaved, {args.warm} warm calls each; {os.cpu_count()} CPUs, load "
              f"average {os.getloadavg()[0]:.1f} at the end")
        if args.json:
            args.json.write_text(json.dumps(samples, indent=1))


if __name__ == "__main__":
    main()
