"""``--pick``: the best row x MemorySize of a benchmark for the user's constraints, and why.

Constraints: the accuracy a variant may lose against float32 (points), the largest package
(unzipped x86_64 MB), and an objective: ``latency`` (warm p50, then cold start), ``cost``
(x86_64 cost per million requests) or ``size`` (package, then warm p50).
``writeback`` writes the choice into the manifest (``default_variant``) or a SAM template (each
function's ``MemorySize``, ``LAMBDALITE_BACKEND`` and ``LAMBDALITE_VARIANT``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from lambdalite.benchmark.config import TF_ROW
from lambdalite.benchmark.render import fmt_bytes, fmt_ms, fmt_usd
from lambdalite.benchmark.results import BenchResult, CellResult, RowResult
from lambdalite.benchmark.stats import robust_stdev
from lambdalite.errors import UsageError
from lambdalite.lambda_facts import MB

Objective = Literal["latency", "cost", "size"]
OBJECTIVES = ("latency", "cost", "size")
# Candidates within this fraction of the best (or one combined standard deviation, if larger)
# are a tie: differences that small are measurement noise on a shared 2-core machine.
TIE_FRACTION = 0.05


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
    warm_spread: float              # robust standard deviation of the warm Durations
    warm_mean: float
    cold_p50: float
    cost: float
    size: int | None

    @property
    def name(self) -> str:
        return f"{self.row.row} @ {self.cell.memory_mb} MB"

    @property
    def drop(self) -> float:
        """Accuracy points lost; the tf row is the original model (nothing lost); unknown last."""
        if self.row.row == TF_ROW:
            return 0.0
        drop = self.row.accuracy_drop_points
        return math.inf if drop is None else drop

    def value(self, objective: str) -> float:
        if objective == "cost":
            return self.cost
        if objective == "size":
            return math.inf if self.size is None else float(self.size)
        return self.warm_p50

    def spread(self, objective: str) -> float:
        """One (robust) standard deviation of ``value``: the warm samples' for latency, scaled
        for cost (the warm mean dominates it); none for size (a package size is not noisy:
        only the 5% applies)."""
        if objective == "latency":
            return self.warm_spread
        if objective == "cost" and self.warm_mean > 0:
            return self.cost * self.warm_spread / self.warm_mean
        return 0.0


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
    _check(constraints)
    ok: list[Candidate] = []
    rejected: list[str] = []
    for cell in result.cells:
        row = result.row(cell.row)
        if row is None or row.is_floor:   # a floor is a baseline, not something to deploy
            continue
        why = _rejection(row, cell, constraints)
        if why:
            rejected.append(f"{cell.label}: {why}")
            continue
        cold, warm = cell.cold_start(), cell.summary("warm")
        cost = cell.cost("x86_64", result.cold_fraction)
        assert cold and warm and cost is not None   # _rejection checked they exist
        size = row.size("x86_64")
        spread = robust_stdev([w.duration_ms for w in cell.warm])
        ok.append(Candidate(row, cell, warm.p50, spread, warm.mean, cold.p50, cost,
                            size.unzipped_bytes if size else None))
    if not ok:
        raise UsageError("no variant meets the constraints:\n  " + "\n  ".join(rejected))
    ranked = rank(ok, constraints.objective)
    return Verdict(ranked[0].row.row, ranked[0].cell.memory_mb,
                   _reasons(ranked, constraints), tuple(rejected))


def _check(c: Constraints) -> None:
    if c.objective not in OBJECTIVES:
        raise UsageError(f"--objective must be one of {', '.join(OBJECTIVES)}")
    if c.max_accuracy_drop is not None and c.max_accuracy_drop < 0:
        raise UsageError(f"--max-accuracy-drop {c.max_accuracy_drop:g} is negative: give the "
                         "accuracy points a variant may lose (0 or more)")
    if c.max_size_mb is not None and c.max_size_mb <= 0:
        raise UsageError(f"--max-size {c.max_size_mb:g} must be more than 0 MB")


def ties(ok: list[Candidate], objective: str) -> list[Candidate]:
    """The candidates whose objective value is within measurement spread of the best one:
    within max(5% of it, one combined robust standard deviation of the two)."""
    best = min(ok, key=lambda c: c.value(objective))
    low = best.value(objective)
    return [c for c in ok if c.value(objective) - low <= max(
        TIE_FRACTION * low, math.hypot(best.spread(objective), c.spread(objective)))]


def rank(ok: list[Candidate], objective: str) -> list[Candidate]:
    """Best first: the ties (by smaller accuracy drop, then smaller package, then the
    objective), then the others by the objective (then warm p50 / cold start)."""
    tied = ties(ok, objective)

    def by_objective(c: Candidate) -> tuple[float, float, float]:
        return (c.value(objective), c.warm_p50, c.cold_p50)

    def size(c: Candidate) -> float:
        return math.inf if c.size is None else c.size

    first = sorted(tied, key=lambda c: (c.drop, size(c), *by_objective(c)))
    return first + sorted((c for c in ok if c not in tied), key=by_objective)


def _rejection(row: RowResult, cell: CellResult, c: Constraints) -> str | None:
    if cell.emulated:
        return f"its timings are emulated ({cell.arch} under qemu here), not Lambda's"
    if cell.error or not cell.warm or cell.cold_start() is None:
        return f"it did not run cleanly ({cell.error or 'no samples'})"
    drop = row.accuracy_drop_points
    if c.max_accuracy_drop is not None and drop is not None and drop > c.max_accuracy_drop:
        return f"it loses {drop:.2f} accuracy points (limit {c.max_accuracy_drop:g})"
    size = row.size("x86_64")
    if c.max_size_mb is not None:
        if size is None or size.unzipped_bytes is None:
            return "its package size is unknown"
        if size.unzipped_bytes > c.max_size_mb * MB:
            return f"its package is {fmt_bytes(size.unzipped_bytes)} (limit {c.max_size_mb:g} MB)"
    return None


OBJECTIVE_WORDS = {"latency": "lowest warm p50", "cost": "cheapest (x86_64 $ per 1M requests)",
                   "size": "smallest package"}


TIE_RULE = (
    "values within measurement spread of the lowest (max(5%, one combined standard deviation "
    "of the warm samples, robust: 1.4826 x MAD)) are a tie, broken by the smaller accuracy "
    "drop, then the smaller package",
    "sizes within 5% of the smallest are a tie, broken by the smaller accuracy drop, then the "
    "smaller package")


def _fmt(value: float, objective: str) -> str:
    return {"latency": fmt_ms, "cost": fmt_usd}.get(objective, lambda v: fmt_bytes(int(v)))(value)


def _reasons(ranked: list[Candidate], c: Constraints) -> tuple[str, ...]:
    best, o = ranked[0], c.objective
    tied = ties(ranked, o)
    lowest = min(ranked, key=lambda x: x.value(o))
    if len(tied) == 1:
        reasons = [f"it is the {OBJECTIVE_WORDS[o]} ({_fmt(best.value(o), o)}) of "
                   f"{len(ranked)} candidate(s) that meet the constraints"]
    else:
        others = ", ".join(f"{x.name} ({_fmt(x.value(o), o)})" for x in tied if x is not best)
        reasons = [f"it ties for {OBJECTIVE_WORDS[o]} ({_fmt(best.value(o), o)}; lowest "
                   f"{_fmt(lowest.value(o), o)}) with {others}, of {len(ranked)} candidate(s) "
                   "that meet the constraints",
                   TIE_RULE[o == "size"]]
    reasons.append(f"cold start {fmt_ms(best.cold_p50)}, warm p50 {fmt_ms(best.warm_p50)}, "
                   f"{fmt_usd(best.cost)}/1M, package {fmt_bytes(best.size)}, accuracy "
                   + ("n/a" if best.row.accuracy is None else f"{best.row.accuracy * 100:.2f}%"))
    if best.row.row == TF_ROW:
        reasons.append(f"{TF_ROW} is the original model on TensorFlow, the reference the LiteRT "
                       "variants are converted from: it loses no accuracy, so the accuracy "
                       "limit does not apply to it")
    elif any(x.row.row == TF_ROW for x in ranked):
        reasons.append(f"{TF_ROW} (the original model on TensorFlow, the reference) was "
                       "considered too: it loses no accuracy, so the accuracy limit does not "
                       "apply to it")
    if best.row.row != TF_ROW and best.row.accuracy is None and c.max_accuracy_drop is not None:
        reasons.append("its accuracy is unknown (no labelled evaluation in the manifest), so "
                       "the accuracy limit could not be checked")
    for other in ranked[1:2]:
        reasons.append(f"runner-up: {other.name} (warm p50 {fmt_ms(other.warm_p50)}, "
                       f"{fmt_usd(other.cost)}/1M, {fmt_bytes(other.size)})")
    return tuple(reasons)
