"""``--pick``: the best row x MemorySize of a benchmark for the user's constraints, and why.

Constraints: the accuracy a variant may lose against float32 (points), the largest package
(unzipped x86_64 MB), and an objective: ``latency`` (warm p50, then cold start), ``cost``
(x86_64 cost per million requests) or ``size`` (package, then warm p50).
The choice can be written into the manifest (``default_variant``) or a SAM template
(every ``MemorySize``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from lambdalite.bench.render import fmt_bytes, fmt_ms, fmt_usd
from lambdalite.bench.results import BenchResult, CellResult, RowResult
from lambdalite.errors import UsageError
from lambdalite.manifest import Manifest
from lambdalite.platform import MB

Objective = Literal["latency", "cost", "size"]
OBJECTIVES = ("latency", "cost", "size")


@dataclass(frozen=True)
class Constraints:
    objective: Objective = "latency"
    max_accuracy_drop: float | None = None   # points against float32
    max_size_mb: float | None = None         # unzipped x86_64 package


@dataclass(frozen=True)
class Candidate:
    row: RowResult
    cell: CellResult
    warm_p50: float
    cold_p50: float
    cost: float
    size: int | None


@dataclass(frozen=True)
class Verdict:
    row: str
    memory_mb: int
    reasons: tuple[str, ...]
    rejected: tuple[str, ...]

    def text(self) -> str:
        lines = [f"pick: {self.row} at {self.memory_mb} MB"]
        lines += [f"  {'because' if i == 0 else '-'} {r}" for i, r in enumerate(self.reasons)]
        lines += [f"  not {r}" for r in self.rejected]
        return "\n".join(lines)


def pick(result: BenchResult, constraints: Constraints) -> Verdict:
    if constraints.objective not in OBJECTIVES:
        raise UsageError(f"--objective must be one of {', '.join(OBJECTIVES)}")
    ok: list[Candidate] = []
    rejected: list[str] = []
    for cell in result.cells:
        row = result.row(cell.row)
        if row is None:
            continue
        why = _rejection(row, cell, constraints)
        if why:
            rejected.append(f"{cell.row} @ {cell.memory_mb} MB: {why}")
            continue
        cold, warm = cell.cold_start(), cell.summary("warm")
        cost = cell.cost("x86_64", result.cold_fraction)
        assert cold and warm and cost is not None   # _rejection checked they exist
        size = row.size("x86_64")
        ok.append(Candidate(row, cell, warm.p50, cold.p50, cost,
                            size.unzipped_bytes if size else None))
    if not ok:
        raise UsageError("no variant meets the constraints:\n  " + "\n  ".join(rejected))
    best = min(ok, key=_key(constraints.objective))
    return Verdict(best.row.row, best.cell.memory_mb, _reasons(best, ok, constraints),
                   tuple(rejected))


def _rejection(row: RowResult, cell: CellResult, c: Constraints) -> str | None:
    if cell.error or not cell.warm or cell.cold_start() is None:
        return f"it did not run cleanly ({cell.error or 'no samples'})"
    drop = row.accuracy_drop_points
    if c.max_accuracy_drop is not None and drop is not None and drop > c.max_accuracy_drop:
        return f"it loses {drop:.2f} accuracy points (limit {c.max_accuracy_drop})"
    size = row.size("x86_64")
    if c.max_size_mb is not None:
        if size is None or size.unzipped_bytes is None:
            return "its package size is unknown"
        if size.unzipped_bytes > c.max_size_mb * MB:
            return f"its package is {fmt_bytes(size.unzipped_bytes)} (limit {c.max_size_mb:g} MB)"
    return None


def _key(objective: str) -> Callable[[Candidate], tuple[float, float]]:
    if objective == "cost":
        return lambda c: (c.cost, c.warm_p50)
    if objective == "size":
        return lambda c: (c.size if c.size is not None else float("inf"), c.warm_p50)
    return lambda c: (c.warm_p50, c.cold_p50)


def _reasons(best: Candidate, ok: list[Candidate], c: Constraints) -> tuple[str, ...]:
    reasons = [{
        "latency": f"it has the lowest warm p50 ({fmt_ms(best.warm_p50)}) of {len(ok)} "
                   "candidate(s) that meet the constraints",
        "cost": f"it is the cheapest ({fmt_usd(best.cost)} per 1M requests on x86_64) of "
                f"{len(ok)} candidate(s) that meet the constraints",
        "size": f"its package is the smallest ({fmt_bytes(best.size)}) of {len(ok)} "
                "candidate(s) that meet the constraints",
    }[c.objective]]
    reasons.append(f"cold start {fmt_ms(best.cold_p50)}, warm p50 {fmt_ms(best.warm_p50)}, "
                   f"{fmt_usd(best.cost)}/1M, package {fmt_bytes(best.size)}, accuracy "
                   + ("n/a" if best.row.accuracy is None else f"{best.row.accuracy * 100:.2f}%"))
    if best.row.accuracy is None and c.max_accuracy_drop is not None:
        reasons.append("its accuracy is unknown (no labelled evaluation in the manifest), so "
                       "the accuracy limit could not be checked")
    runner_up = sorted(ok, key=_key(c.objective))[1:2]
    for other in runner_up:
        reasons.append(f"runner-up: {other.row.row} @ {other.cell.memory_mb} MB (warm p50 "
                       f"{fmt_ms(other.warm_p50)}, {fmt_usd(other.cost)}/1M, "
                       f"{fmt_bytes(other.size)})")
    return tuple(reasons)


def write_manifest(model_dir: Path, verdict: Verdict) -> Path:
    """Set the manifest's ``default_variant`` to the picked LiteRT variant."""
    manifest = Manifest.load(model_dir)
    if verdict.row not in manifest.variants:
        raise UsageError(f"the pick is {verdict.row!r}, not a LiteRT variant of this manifest: "
                         "set LAMBDALITE_BACKEND=tf in the function's environment instead")
    return replace(manifest, default_variant=verdict.row).save(model_dir)


MEMORY_SIZE = re.compile(r"^(\s*MemorySize:\s*)(\d+)(\s*(#.*)?)$", re.MULTILINE)


def write_template(template: Path, verdict: Verdict) -> int:
    """Set every ``MemorySize`` in a SAM template to the pick's; how many were changed.
    Edits the text (CloudFormation tags such as !Ref defeat a YAML round trip)."""
    text = template.read_text()
    new, count = MEMORY_SIZE.subn(rf"\g<1>{verdict.memory_mb}\g<3>", text)
    if count == 0:
        raise UsageError(f"{template} has no `MemorySize:` line to set; add one under "
                         "Properties or Globals.Function")
    template.write_text(new)
    return count
