"""What a benchmark run measures: ``BenchConfig`` and the parsing of its CLI values.

``make_config`` fills what the user left out with the defaults of the mode: a full run
(several cold starts, two memory sizes, the TF backend too) or ``--quick`` (one cold start,
a few warm calls, one memory size, LiteRT variants only) for tests and the demo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lambdalite.bench.cost import DEFAULT_COLD_FRACTION
from lambdalite.errors import UsageError
from lambdalite.lambda_facts import MEMORY_MAX_MB, MEMORY_MIN_MB, RUNTIMES
from lambdalite.manifest import VARIANTS

BACKENDS = ("litert", "tf")
TF_ROW = "tf"                       # the row of the TensorFlow backend (original model)
NAMED_MODELS = ("mnist", "large")
RUN_ARCH = "x86_64"                 # what this machine runs; arm64 is built and checked only
SIZE_ARCHS = ("x86_64", "arm64")
DEFAULT_RUNTIME = "python3.11"      # the host's Python, so every package runs here
DEFAULT_MEMORY = (1024, 3008)
DEFAULT_TIMEOUT_S = 30              # API Gateway's ~29-30 s limit: the write-up's "timed out"
QUICK_TF_SKIP = ("--quick skips the tf row: building a full TensorFlow package takes minutes "
                 "(run without --quick to measure it)")


@dataclass(frozen=True)
class Counts:
    cold_starts: int
    warm: int
    warmup: int


FULL = Counts(cold_starts=5, warm=20, warmup=2)
QUICK = Counts(cold_starts=1, warm=3, warmup=1)


@dataclass(frozen=True)
class BenchConfig:
    model: str = "mnist"                          # mnist | large | path to a model folder
    variants: tuple[str, ...] | None = None       # None: every variant of the manifest
    backends: tuple[str, ...] = BACKENDS
    memory_sizes: tuple[int, ...] = DEFAULT_MEMORY
    cold_starts: int = FULL.cold_starts
    warm: int = FULL.warm
    warmup: int = FULL.warmup
    runtime: str = DEFAULT_RUNTIME
    timeout_s: int = DEFAULT_TIMEOUT_S
    quick: bool = False
    arm64_sizes: bool = True                      # build (not run) the arm64 package too
    cold_fraction: float = DEFAULT_COLD_FRACTION
    out: Path = Path("bench-results")
    notes: tuple[str, ...] = field(default=())    # what the settings left out, and why

    def settings(self) -> dict[str, object]:
        return {
            "model": self.model, "variants": list(self.variants) if self.variants else None,
            "backends": list(self.backends), "memory_sizes": list(self.memory_sizes),
            "cold_starts": self.cold_starts, "warm": self.warm, "warmup": self.warmup,
            "runtime": self.runtime, "run_arch": RUN_ARCH, "timeout_s": self.timeout_s,
            "quick": self.quick, "arm64_sizes": self.arm64_sizes,
            "cold_fraction": self.cold_fraction, "notes": list(self.notes),
        }


def make_config(
    *, model: str = "mnist", variants: str | None = None, memory: str | None = None,
    cold: int | None = None, warm: int | None = None, warmup: int | None = None,
    quick: bool = False, runtime: str = DEFAULT_RUNTIME, timeout_s: int = DEFAULT_TIMEOUT_S,
    arm64_sizes: bool = True, cold_fraction: float = DEFAULT_COLD_FRACTION,
    out: Path = Path("bench-results"),
) -> BenchConfig:
    """A config from CLI values (strings as typed); None takes the mode's default."""
    counts = QUICK if quick else FULL
    names, backends = parse_variants(variants)
    notes: list[str] = []
    if quick and TF_ROW in backends and (variants is None or TF_ROW not in variants.split(",")):
        backends = tuple(b for b in backends if b != TF_ROW)
        notes.append(QUICK_TF_SKIP)
    memory_sizes = parse_memory(memory) if memory else (
        DEFAULT_MEMORY[:1] if quick else DEFAULT_MEMORY)
    if runtime not in RUNTIMES:
        raise UsageError(f"--runtime {runtime!r} is not a Lambda Python runtime "
                         f"({', '.join(RUNTIMES)})")
    if not 0.0 <= cold_fraction <= 1.0:
        raise UsageError(f"--cold-fraction {cold_fraction} must be between 0 and 1")
    config = BenchConfig(
        model=model, variants=names, backends=backends, memory_sizes=memory_sizes,
        cold_starts=counts.cold_starts if cold is None else cold,
        warm=counts.warm if warm is None else warm,
        warmup=counts.warmup if warmup is None else warmup,
        runtime=runtime, timeout_s=timeout_s, quick=quick, arm64_sizes=arm64_sizes,
        cold_fraction=cold_fraction, out=out, notes=tuple(notes),
    )
    _check_counts(config)
    return config


def parse_variants(value: str | None) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """``"float32,dynamic,tf"`` -> (("float32", "dynamic"), backends). ``tf`` is the TF backend
    row; without it only LiteRT runs. None or ``all``: every variant and both backends."""
    if value is None or value.strip().lower() == "all":
        return None, BACKENDS
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in names if v not in (*VARIANTS, TF_ROW)]
    if unknown or not names:
        raise UsageError(f"--variants {value!r}: unknown {', '.join(unknown) or 'empty list'}; "
                         f"choose from all, {', '.join((*VARIANTS, TF_ROW))}")
    litert = tuple(v for v in VARIANTS if v in names)
    backends = (("litert",) if litert else ()) + ((TF_ROW,) if TF_ROW in names else ())
    return litert, backends


def parse_memory(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"--memory {value!r}: expected MB sizes such as 1024,3008") from None
    bad = [s for s in sizes if not MEMORY_MIN_MB <= s <= MEMORY_MAX_MB]
    if not sizes or bad:
        raise UsageError(f"--memory {value!r}: every size must be {MEMORY_MIN_MB}.."
                         f"{MEMORY_MAX_MB} MB, as Lambda allows")
    return tuple(dict.fromkeys(sizes))


def _check_counts(config: BenchConfig) -> None:
    if config.cold_starts < 1:
        raise UsageError("--cold must be at least 1 (every row needs a cold start)")
    if config.warm < 1:
        raise UsageError("--warm must be at least 1")
    if config.warmup < 0:
        raise UsageError("--warmup cannot be negative")
    if config.timeout_s < 1:
        raise UsageError("--timeout must be at least 1 second")
