"""What a benchmark run measures: ``BenchOptions`` (what the user asks) -> ``BenchConfig``.

``config_for`` fills what the options leave out (None) with the defaults of the mode: a full
run (several cold starts, two memory sizes, the TF backend too) or ``quick`` (one cold start,
a few warm calls, one memory size, LiteRT variants only) for tests and the demo. Its errors
name the option fields (``cold_starts``); the CLI shows its flags (``--cold``) instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lambdalite.benchmark.cost import DEFAULT_COLD_FRACTION
from lambdalite.errors import OptionError
from lambdalite.lambda_facts import MEMORY_MAX_MB, MEMORY_MIN_MB, RUNTIMES
from lambdalite.manifest import ALL_VARIANTS, ONNX_BACKEND, ONNX_VARIANTS

BACKENDS = ("litert", "tf", ONNX_BACKEND)
TF_ROW = "tf"                       # the row of the TensorFlow backend (original model)
ROWS = (*ALL_VARIANTS, TF_ROW)      # LiteRT variants, ONNX Runtime's (convert --onnx), tf
RUN_ARCH = "x86_64"                 # what this machine runs; arm64 is built and checked only
SIZE_ARCHS = ("x86_64", "arm64")
DEFAULT_RUNTIME = "python3.11"      # the host's Python, so every package runs here
DEFAULT_MEMORY = (1024, 3008)
DEFAULT_TIMEOUT_S = 30              # API Gateway's ~29-30 s limit: the write-up's "timed out"
# An emulated arm64 cell (python3.13 packages, under qemu): one cold start and this many warm
# calls at the first MemorySize. Its figures are not arm64 timings; it shows that the package
# runs and answers as x86_64 does, at ~300x the cost in time.
EMULATED_WARM = 3
# The write-up's runtime, measured next to LiteRT (issue 14): tflite-runtime 2.7.0, the version
# it had to pin, on python3.9, the newest Python with its wheels (deprecated on Lambda).
PEER = "tfl27"                      # its rows: tfl27-float32, tfl27-dynamic, tfl27-int8
PEER_RUNTIME = "python3.9"
PEER_PACKAGE = "tflite-runtime==2.7.0"
PEER_VARIANTS = ("float32", "dynamic", "int8")
PEER_MARK = "the write-up's runtime (its Lambda runtime is deprecated)"
QUICK_TF_SKIP = ("quick mode skips the tf row: building a full TensorFlow package takes "
                 "minutes (measure it in a full run)")


@dataclass(frozen=True)
class Counts:
    cold_starts: int
    warm: int
    warmup: int


# Cold starts: the median of 7 fresh environments, as the issue that asked for the floor rows
# measured them (single cold starts here vary by tens of ms).
FULL = Counts(cold_starts=7, warm=20, warmup=2)
QUICK = Counts(cold_starts=1, warm=3, warmup=1)


@dataclass(frozen=True)
class BenchOptions:
    """What to measure (``lambdalite.bench(options)``); None takes the mode's default."""

    model: str | Path = "mnist"                   # mnist | stegastamp | large | a model folder
    # Rows: LiteRT variants, ONNX variants (onnx_float32, onnx_dynamic: ONNX Runtime) and/or
    # "tf" (the original model on TensorFlow). None: every variant of the manifest and the tf
    # row (quick: no tf row).
    variants: tuple[str, ...] | None = None
    memory_sizes: tuple[int, ...] | None = None   # MemorySize(s), MB
    cold_starts: int | None = None
    warm: int | None = None
    warmup: int | None = None
    quick: bool = False
    runtime: str = DEFAULT_RUNTIME
    timeout_s: int = DEFAULT_TIMEOUT_S
    arm64_sizes: bool = True                      # build (not run) the arm64 package too
    cold_fraction: float = DEFAULT_COLD_FRACTION
    out: Path = Path("bench-results")
    # python3.13 arm64 packages also run emulated (needs arm64_sizes, qemu and the userland).
    emulate_arm64: bool = True
    # The floor rows (no-op and imports-only handlers, run from each backend's package).
    floors: bool = True
    # The write-up's runtime (PEER_PACKAGE on PEER_RUNTIME) for each of PEER_VARIANTS measured.
    # None: in a full run, not in quick mode.
    peer_rows: bool | None = None
    # The event every invocation sends (a Lambda event as JSON); None: the model's own
    # (benchmark/models.py: the examples' events, a noise PNG, or seeded tensors).
    event: Path | None = None


@dataclass(frozen=True)
class BenchConfig:
    model: str = "mnist"                          # mnist | stegastamp | large | a model folder
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
    floors: bool = True                           # the no-op and imports-only floor rows
    notes: tuple[str, ...] = field(default=())    # what the settings left out, and why
    emulate_arm64: bool = True
    peer_rows: bool = True
    event: str | None = None                      # a Lambda event file (JSON)

    def settings(self) -> dict[str, object]:
        return {
            "model": self.model, "variants": list(self.variants) if self.variants else None,
            "backends": list(self.backends), "memory_sizes": list(self.memory_sizes),
            "cold_starts": self.cold_starts, "warm": self.warm, "warmup": self.warmup,
            "runtime": self.runtime, "run_arch": RUN_ARCH, "timeout_s": self.timeout_s,
            "quick": self.quick, "arm64_sizes": self.arm64_sizes,
            "emulate_arm64": self.emulate_arm64, "floors": self.floors,
            "peer_rows": self.peer_rows, "event": self.event,
            "cold_fraction": self.cold_fraction, "notes": list(self.notes),
        }


def config_for(options: BenchOptions) -> BenchConfig:
    """The run ``options`` ask for, the mode's defaults filled in, every value checked."""
    o = options
    counts = QUICK if o.quick else FULL
    names, backends = _rows(o.variants)
    notes: list[str] = []
    if o.quick and TF_ROW in backends and o.variants is None:
        backends = tuple(b for b in backends if b != TF_ROW)
        notes.append(QUICK_TF_SKIP)
    memory_sizes = _memory(o.memory_sizes) if o.memory_sizes is not None else (
        DEFAULT_MEMORY[:1] if o.quick else DEFAULT_MEMORY)
    if o.runtime not in RUNTIMES:
        raise OptionError(f"{{runtime}} {o.runtime!r} is not a Lambda Python runtime "
                          f"({', '.join(RUNTIMES)})")
    if not 0.0 <= o.cold_fraction <= 1.0:
        raise OptionError(f"{{cold_fraction}} {o.cold_fraction} must be between 0 and 1")
    config = BenchConfig(
        model=str(o.model), variants=names, backends=backends, memory_sizes=memory_sizes,
        cold_starts=counts.cold_starts if o.cold_starts is None else o.cold_starts,
        warm=counts.warm if o.warm is None else o.warm,
        warmup=counts.warmup if o.warmup is None else o.warmup,
        runtime=o.runtime, timeout_s=o.timeout_s, quick=o.quick, arm64_sizes=o.arm64_sizes,
        cold_fraction=o.cold_fraction, out=o.out, floors=o.floors, notes=tuple(notes),
        emulate_arm64=o.emulate_arm64 and o.arm64_sizes,
        peer_rows=not o.quick if o.peer_rows is None else o.peer_rows,
        event=str(o.event) if o.event is not None else None,
    )
    _check_counts(config)
    return config


def _rows(rows: tuple[str, ...] | None) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """("float32", "onnx_dynamic", "tf") -> (("float32", "onnx_dynamic"), the backends that run
    them). None: every variant and every backend."""
    if rows is None:
        return None, BACKENDS
    unknown = [v for v in rows if v not in ROWS]
    if unknown or not rows:
        raise OptionError(f"{{variants}} {', '.join(rows) or '(empty)'}: unknown "
                          f"{', '.join(unknown) or 'empty list'}; choose from {', '.join(ROWS)}")
    variants = tuple(v for v in ALL_VARIANTS if v in rows)
    backends = tuple(b for b in BACKENDS if b in {backend_of(r) for r in rows})
    return variants, backends


def backend_of(row: str) -> str:
    """The backend that runs a row: tf, onnxruntime for the ONNX variants, else litert."""
    if row == TF_ROW:
        return "tf"
    return ONNX_BACKEND if row in ONNX_VARIANTS else "litert"


def _memory(sizes: tuple[int, ...]) -> tuple[int, ...]:
    bad = [s for s in sizes if not MEMORY_MIN_MB <= s <= MEMORY_MAX_MB]
    if not sizes or bad:
        raise OptionError(f"{{memory_sizes}} {', '.join(map(str, sizes)) or '(empty)'}: every "
                          f"size must be {MEMORY_MIN_MB}..{MEMORY_MAX_MB} MB, as Lambda allows")
    return tuple(dict.fromkeys(sizes))


def _check_counts(config: BenchConfig) -> None:
    if config.cold_starts < 1:
        raise OptionError("{cold_starts} must be at least 1 (every row needs a cold start)")
    if config.warm < 1:
        raise OptionError("{warm} must be at least 1")
    if config.warmup < 0:
        raise OptionError("{warmup} cannot be negative")
    if config.timeout_s < 1:
        raise OptionError("{timeout_s} must be at least 1 second")
