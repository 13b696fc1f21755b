"""Typed results of a benchmark run, every raw sample kept, and their JSON form.

One ``RowResult`` per table row group (a LiteRT variant, or ``tf``: the original model on the
TensorFlow backend) with its package sizes, and one ``CellResult`` per row x MemorySize with
the raw cold-start and warm samples. Summaries and costs are derived, never stored apart from
the samples they come from.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lambdalite.benchmark.cost import CostInputs, cost_per_million
from lambdalite.benchmark.stats import Summary, summarize

TIMED_OUT = "Sandbox.Timedout"


@dataclass(frozen=True)
class PackageSize:
    arch: str
    package_type: str               # zip | image
    runtime: str
    unzipped_bytes: int | None
    zipped_bytes: int | None
    files: int | None = None
    glibc_needed: str | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None        # the build failed its checks (message of the BuildError)
    installed: tuple[str, ...] = ()  # "name==version" in the package, as the build locked it


@dataclass(frozen=True)
class ColdSample:
    init_duration_ms: float | None  # the REPORT line's Init Duration
    duration_ms: float              # the first invocation's Duration
    round_trip_ms: float            # the client's view: spawn + INIT + invoke + response
    max_memory_used_mb: int | None  # None: not measured on this host
    error_type: str | None = None


@dataclass(frozen=True)
class WarmSample:
    duration_ms: float
    round_trip_ms: float
    max_memory_used_mb: int | None


@dataclass(frozen=True)
class CellResult:
    row: str                        # float32 | dynamic | float16 | int8 | tf
    memory_mb: int
    cold: tuple[ColdSample, ...] = ()
    warm: tuple[WarmSample, ...] = ()
    error: str | None = None        # why the cell stopped early (timeout, crash, build)
    error_type: str | None = None
    arch: str = "x86_64"
    # arm64 run under qemu-user here: its figures are not arm64 Lambda's (no cost, no pick).
    emulated: bool = False
    # Emulated cells: how the answers compare with the x86_64 run's, peer cells: with LiteRT's
    # row of the variant ("equal", or the first difference); None: nothing to compare.
    answers: str | None = None

    @property
    def label(self) -> str:
        return f"{self.row} @ {self.memory_mb} MB" + (f" ({self.arch} emulated)"
                                                       if self.emulated else "")

    @property
    def timed_out(self) -> bool:
        return self.error_type == TIMED_OUT

    @property
    def ok_cold(self) -> tuple[ColdSample, ...]:
        return tuple(c for c in self.cold if c.error_type is None)

    def cold_start(self) -> Summary | None:
        """Init Duration + first Duration, per fresh environment."""
        vals = [(c.init_duration_ms or 0.0) + c.duration_ms for c in self.ok_cold]
        return summarize(vals) if vals else None

    def summary(self, what: str) -> Summary | None:
        vals: list[float]
        if what == "init":
            vals = [c.init_duration_ms or 0.0 for c in self.ok_cold]
        elif what == "first":
            vals = [c.duration_ms for c in self.ok_cold]
        elif what == "cold_round_trip":
            vals = [c.round_trip_ms for c in self.ok_cold]
        elif what == "warm":
            vals = [w.duration_ms for w in self.warm]
        elif what == "warm_round_trip":
            vals = [w.round_trip_ms for w in self.warm]
        else:
            raise ValueError(f"unknown summary {what!r}")
        return summarize(vals) if vals else None

    def max_memory_mb(self) -> int | None:
        values = [c.max_memory_used_mb for c in self.ok_cold] + [
            w.max_memory_used_mb for w in self.warm]
        measured = [v for v in values if v is not None]
        return max(measured) if measured else None

    def cost(self, arch: str, cold_fraction: float) -> float | None:
        """None for an emulated cell: its durations are qemu's, not Lambda's."""
        if self.emulated:
            return None
        warm, init, first = self.summary("warm"), self.summary("init"), self.summary("first")
        if warm is None or init is None or first is None:
            return None
        inputs = CostInputs(self.memory_mb, warm.mean, init.mean, first.mean, cold_fraction)
        return cost_per_million(inputs, arch)


@dataclass(frozen=True)
class RowResult:
    row: str
    backend: str                    # litert | tf
    variant: str | None             # the .tflite variant (None for tf)
    model_file_bytes: int | None
    accuracy: float | None
    accuracy_drop_points: float | None
    sizes: tuple[PackageSize, ...] = ()
    # A floor row: "noop" or "imports" (``lambdalite.function.floors``), run from the package
    # of the row ``package_of`` with another Handler; None for a variant or the tf row.
    floor: str | None = None
    package_of: str | None = None
    # The write-up's runtime instead of lambdalite's LiteRT ("tflite-runtime==2.7.0 on
    # python3.9"): shown for comparison, never picked. None: lambdalite's own row.
    peer: str | None = None
    # Top-1 measured through the function on the row's own runtime (peer rows, on a labelled
    # image set), next to ``accuracy`` (LiteRT's evaluation of the same file).
    runtime_accuracy: float | None = None

    @property
    def is_floor(self) -> bool:
        return self.floor is not None

    def size(self, arch: str) -> PackageSize | None:
        return next((s for s in self.sizes if s.arch == arch), None)


@dataclass(frozen=True)
class BenchResult:
    model: str                      # the model's name in its manifest
    model_dir: str
    settings: dict[str, object]
    machine: dict[str, object]
    rows: tuple[RowResult, ...]
    cells: tuple[CellResult, ...]
    started: str
    finished: str
    notes: tuple[str, ...] = field(default=())
    event: str = ""                 # what each invocation sent

    def cell(self, row: str, memory_mb: int, *, emulated: bool = False) -> CellResult | None:
        """The x86_64 measurement of ``row`` at ``memory_mb`` (``emulated``: the arm64 one)."""
        return next((c for c in self.cells if c.row == row and c.memory_mb == memory_mb
                     and c.emulated == emulated), None)

    def row(self, name: str) -> RowResult | None:
        return next((r for r in self.rows if r.row == name), None)

    def floor_of(self, row: RowResult, kind: str = "imports") -> RowResult | None:
        """The floor row of ``kind`` measured from the same package as ``row`` (its backend's)."""
        return next((r for r in self.rows if r.floor == kind and r.backend == row.backend),
                    None)

    def over_floor_ms(self, row: RowResult, memory_mb: int, kind: str = "imports"
                      ) -> float | None:
        """How far ``row``'s cold start (p50) is above the floor's at the same MemorySize."""
        floor = self.floor_of(row, kind)
        a = self.cell(row.row, memory_mb)
        b = self.cell(floor.row, memory_mb) if floor else None
        ca, cb = (a.cold_start() if a else None), (b.cold_start() if b else None)
        return ca.p50 - cb.p50 if ca and cb else None

    @property
    def memory_sizes(self) -> list[int]:
        value = self.settings.get("memory_sizes")
        return [int(m) for m in value] if isinstance(value, list) else []

    @property
    def cold_fraction(self) -> float:
        value = self.settings.get("cold_fraction", 0.01)
        return float(value) if isinstance(value, int | float) else 0.01

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["summaries"] = [_cell_summary(c, self.cold_fraction) for c in self.cells]
        return data

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> BenchResult:
        return cls.from_dict(json.loads(path.read_text()))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchResult:
        """What ``to_dict`` wrote (its ``summaries`` are computed again, not read)."""
        data = dict(data)
        data.pop("summaries", None)
        rows = tuple(RowResult(**{**r, "sizes": tuple(
            PackageSize(**{**s, "warnings": tuple(s["warnings"]),
                            "installed": tuple(s.get("installed", ()))}) for s in r["sizes"])})
            for r in data.pop("rows"))
        cells = tuple(CellResult(
            **{**c, "cold": tuple(ColdSample(**s) for s in c["cold"]),
               "warm": tuple(WarmSample(**s) for s in c["warm"])}) for c in data.pop("cells"))
        return cls(rows=rows, cells=cells, notes=tuple(data.pop("notes")), **data)


def _cell_summary(cell: CellResult, cold_fraction: float) -> dict[str, object]:
    def s(x: Summary | None) -> dict[str, float | int] | None:
        return x.to_dict() if x else None

    return {
        "row": cell.row, "memory_mb": cell.memory_mb, "arch": cell.arch,
        "emulated": cell.emulated, "answers": cell.answers,
        "cold_start_ms": s(cell.cold_start()), "init_ms": s(cell.summary("init")),
        "first_duration_ms": s(cell.summary("first")),
        "cold_round_trip_ms": s(cell.summary("cold_round_trip")),
        "warm_duration_ms": s(cell.summary("warm")),
        "warm_round_trip_ms": s(cell.summary("warm_round_trip")),
        "max_memory_used_mb": cell.max_memory_mb(),
        "cost_per_million_usd": {a: cell.cost(a, cold_fraction) for a in ("x86_64", "arm64")},
        "error": cell.error,
    }
