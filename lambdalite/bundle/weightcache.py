"""XNNPACK's weight cache in the package: whether to build it (``plan``), then build it in the
task root with the target's Python and the shipped ai-edge-litert (``execute``).

The function uses the cache only where its sidecar matches the CPU it runs on
(``lambdalite.function.backends.weight_cache``), so it is built only on a machine of the
target's architecture, by the module the function ships, and only where it pays: LiteRT's
CompiledModel (ai-edge-litert 2.x) imports ~50-125 ms more than the Interpreter, which packs a
small model's weights faster than that; the large benchmark model (208 MB) loads in ~25 ms
instead of 160-650 ms with 187 MB less peak memory (docs/BENCHMARKS.md, "Levers").
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from lambdalite.bundle.slim import Rule
from lambdalite.lambda_facts import MB

# Auto: a variant file at least this big (between MNIST, which loses, and the 208 MB model).
AUTO_MIN_MODEL_BYTES = 64 * MB
# CompiledModel imports ml_dtypes (its tensor buffers); the slim rules drop it otherwise.
KEPT_PATTERNS = ("ml_dtypes", "ml_dtypes-*.dist-info")
BUILDER = "lambdalite.function.backends.weight_cache"
_MACHINES = {"x86_64": ("x86_64", "AMD64"), "arm64": ("aarch64", "arm64")}


@dataclass(frozen=True)
class CachePlan:
    build: bool
    why: str          # built: what for; not built: why not (for --dry-run and the notes)


def plan(backend: str, arch: str, interpreter: str | None, model_bytes: int,
         wanted: bool | None, host_machine: str | None = None,
         litert_package: str | None = None) -> CachePlan:
    """``wanted``: True/False from the user, None for auto (by model size)."""
    host = host_machine or platform.machine()
    if wanted is False:
        return CachePlan(False, "off (weight_cache=False)")
    if litert_package is not None:
        return CachePlan(False, f"off: {litert_package} has no CompiledModel API (the cache is "
                                "ai-edge-litert 2.x's)")
    if backend != "litert":
        return CachePlan(False, f"off: the {backend} backend has no XNNPACK weight cache")
    if wanted is None and model_bytes < AUTO_MIN_MODEL_BYTES:
        return CachePlan(False, f"off: the model is {model_bytes / MB:.1f} MB, under "
                                f"{AUTO_MIN_MODEL_BYTES // MB} MB, where the Interpreter loads "
                                "faster")
    if host not in _MACHINES.get(arch, ()):
        return CachePlan(False, f"not built: it is built on a CPU of the target's architecture "
                                f"and this machine is {host}, the target {arch}")
    if interpreter is None:
        return CachePlan(False, "not built: no Python of the target's version here to build "
                                "it with")
    return CachePlan(True, f"built on this {host} CPU ({interpreter})")


def rules_for(rules: tuple[Rule, ...], cache: CachePlan) -> tuple[Rule, ...]:
    """The slim rules, sparing what CompiledModel imports when a cache is planned."""
    if not cache.build:
        return rules
    return tuple(replace(r, patterns=tuple(p for p in r.patterns if p not in KEPT_PATTERNS))
                 for r in rules)


def execute(task_root: Path, interpreter: str) -> str:
    """Build the cache and its sidecar in ``task_root/model``; a note saying what was done."""
    if not (task_root / "ai_edge_litert" / "compiled_model.py").is_file():
        return ("XNNPACK weight cache not built: the packaged ai-edge-litert has no "
                "CompiledModel (1.x); the Interpreter packs the weights at INIT")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LAMBDALITE_"))}
    # No .pyc from this run: the task root's are unchecked-hash, compiled before.
    env |= {"PYTHONPATH": str(task_root), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([interpreter, "-s", "-m", BUILDER, str(task_root / "model")],
                          cwd=task_root, env=env, capture_output=True, text=True,
                          check=False, timeout=900)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1][:300]
        return f"XNNPACK weight cache not built ({tail}); the Interpreter packs the weights"
    facts = json.loads(proc.stdout)
    return (f"XNNPACK weight cache built ({facts['cache_bytes'] / MB:.1f} MB, "
            f"ai-edge-litert {facts['litert_version']}, {facts['machine']}): used on a CPU with "
            f"the same {len(facts['cpu_flags'])} ISA flags, elsewhere the Interpreter")
