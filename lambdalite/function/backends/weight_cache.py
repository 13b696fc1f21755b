"""XNNPACK's weight cache: the packed weights of one model variant for one CPU, in a file that
``lambdalite build`` writes next to the model, with a sidecar of what it was built for.

LiteRT's CompiledModel takes it as ``CpuOptions.xnnpack_weight_cache_path`` (a FILE: a folder
is silently ignored) and maps it read-only instead of packing the weights at INIT: the large
benchmark model loads in ~25 ms instead of ~160-650 ms and peaks 187 MB lower
(docs/BENCHMARKS.md, "Levers"). Packed weights are laid out for the micro-kernels XNNPACK
picks for the CPU's instruction set, so a cache is used only when the sidecar matches this
variant (sha256, size), the cache's size (a truncated copy), the installed ai-edge-litert and
this CPU (machine and ISA flags). Anything else: ``mismatch`` says what, the function logs it
and uses the Interpreter. (LiteRT has checks of its own, a stale or short file is repacked in
memory, but none for the CPU, and it would try to rewrite the read-only file.)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lambdalite.function.backends.base import SIDECAR_SUFFIX
from lambdalite.records import Record

if TYPE_CHECKING:
    from pathlib import Path

    from lambdalite.function.compat import StrPath

SUFFIX = ".xnnpack_cache"
# The /proc/cpuinfo flags XNNPACK's x86 kernels dispatch on (vector ISA extensions); arm64's
# "Features" line is taken whole (asimd, asimddp, fphp, i8mm, sve, bf16 ...).
_X86_ISA = re.compile(r"^(sse|ssse|avx|fma|f16c|amx)")


class CacheFacts(Record):
    """What a cache file was built for (the sidecar's content)."""

    variant: str
    model_sha256: str
    model_bytes: int
    cache_bytes: int
    litert_version: str
    machine: str
    cpu_flags: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(self._asdict(), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> CacheFacts:
        d: Mapping[str, Any] = json.loads(text)
        return cls(str(d["variant"]), str(d["model_sha256"]), int(d["model_bytes"]),
                   int(d["cache_bytes"]), str(d["litert_version"]), str(d["machine"]),
                   tuple(str(f) for f in d["cpu_flags"]))


def cache_path(model_path: StrPath) -> str:
    return os.fspath(model_path) + SUFFIX


def sidecar_path(model_path: StrPath) -> str:
    return os.fspath(model_path) + SIDECAR_SUFFIX


def cpu_flags(cpuinfo: str, machine: str) -> tuple[str, ...]:
    """The instruction-set flags of the first CPU in a /proc/cpuinfo text, sorted."""
    key = "flags" if machine in ("x86_64", "AMD64", "i686") else "Features"
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            flags = value.split()
            if key == "flags":
                flags = [f for f in flags if _X86_ISA.match(f)]
            return tuple(sorted(set(flags)))
    return ()


def this_cpu(cpuinfo_path: str = "/proc/cpuinfo") -> tuple[str, tuple[str, ...]]:
    """(machine, ISA flags) of the CPU this process runs on."""
    import platform  # deferred: only a package with a cache asks (it costs ms at import)

    machine = platform.machine()
    try:
        with open(cpuinfo_path) as cpuinfo:
            text = cpuinfo.read()
    except OSError:
        text = ""
    return machine, cpu_flags(text, machine)


def mismatch(facts: CacheFacts, *, variant: str, model_sha256: str, model_bytes: int,
             cache_bytes: int, litert_version: str, machine: str,
             flags: tuple[str, ...]) -> str | None:
    """Why the cache described by ``facts`` must not be used here (None: it may)."""
    if facts.variant != variant or facts.model_sha256 != model_sha256:
        return (f"built for another model or variant ({facts.variant} "
                f"{facts.model_sha256[:12]}, this is {variant} {model_sha256[:12]})")
    if facts.model_bytes != model_bytes:
        return f"built for a {facts.model_bytes}-byte model file, this one has {model_bytes}"
    if facts.cache_bytes != cache_bytes:
        return (f"the cache file has {cache_bytes} bytes, {facts.cache_bytes} were written "
                "(truncated or replaced)")
    if facts.litert_version != litert_version:
        return (f"built by ai-edge-litert {facts.litert_version}, this is {litert_version}")
    if facts.machine != machine or facts.cpu_flags != flags:
        missing = sorted(set(facts.cpu_flags) - set(flags))
        extra = sorted(set(flags) - set(facts.cpu_flags))
        return (f"built on another CPU ({facts.machine}; this {machine} lacks "
                f"{', '.join(missing) or 'nothing'} and adds {', '.join(extra) or 'nothing'})")
    return None


def build(model_dir: Path, num_threads: int = 1) -> CacheFacts:
    """Write the cache and its sidecar for the manifest's default variant in ``model_dir``,
    on this CPU with this ai-edge-litert (``lambdalite build`` runs this module with the
    target's Python in the task root: ``python -m lambdalite.function.backends.weight_cache``)."""
    from pathlib import Path  # build time only (the function uses os.path)

    import ai_edge_litert
    import numpy as np
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.options import CpuOptions, Options

    from lambdalite.manifest import Manifest

    variant = Manifest.load(model_dir).variant()
    model = model_dir / variant.file
    cache = Path(cache_path(model))
    cache.unlink(missing_ok=True)
    options = Options(cpu_options=CpuOptions(num_threads=num_threads,
                                             xnnpack_weight_cache_path=str(cache)))
    cm = CompiledModel.from_file(str(model), options=options)
    ins, outs = cm.create_input_buffers(0), cm.create_output_buffers(0)
    for i, buffer in enumerate(ins):
        size = cm.get_input_buffer_requirements(i, 0)["buffer_size"]
        buffer.write(np.zeros(size // 4, np.float32))
    cm.run_by_index(0, ins, outs)
    del ins, outs, cm   # the cache is complete once the model is released
    if not cache.is_file():
        raise RuntimeError(f"LiteRT wrote no weight cache for {model.name}")
    machine, flags = this_cpu()
    facts = CacheFacts(variant.name, variant.sha256, model.stat().st_size, cache.stat().st_size,
                       str(ai_edge_litert.__version__), machine, flags)
    Path(sidecar_path(model)).write_text(facts.to_json())
    return facts


if __name__ == "__main__":
    import sys
    from pathlib import Path

    print(build(Path(sys.argv[1])).to_json(), end="")
