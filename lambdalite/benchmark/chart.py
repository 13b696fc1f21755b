"""The benchmark as one PNG: cold start (left) and warm latency (right) per variant, one bar
per MemorySize, Max Memory Used written on each bar. matplotlib's Agg backend: no display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lambdalite.benchmark.results import BenchResult, CellResult
from lambdalite.benchmark.stats import Summary

LOG_SCALE_RATIO = 30.0   # a log axis once the largest bar is this many times the smallest


def write_chart(result: BenchResult, path: Path) -> Path:
    import matplotlib  # deferred: only charting needs it (and it is slow to import)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r.row for r in result.rows]
    memories = result.memory_sizes
    fig, axes = plt.subplots(1, 2, figsize=(max(9.0, 2.2 * len(rows) + 4), 4.8))
    panels = (("cold start: Init + first Duration (p50, bar to max)", "cold"),
              ("warm Duration (p50, bar to p95)", "warm"))
    for ax, (title, what) in zip(axes, panels, strict=True):
        _panel(ax, result, rows, memories, what)
        ax.set_title(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.suptitle(f"{result.model}: local Lambda on {result.machine.get('cpu_model')} "
                 f"(labels: Max Memory Used)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _panel(ax: Any, result: BenchResult, rows: list[str], memories: list[int], what: str) -> None:
    width = 0.8 / max(1, len(memories))
    values: list[float] = []
    failures: list[tuple[float, str]] = []
    labels: list[tuple[float, float, str]] = []     # x, top of the error bar, text
    for k, memory in enumerate(memories):
        xs, heights, errs = [], [], []
        for i, row in enumerate(rows):
            x = i + (k - (len(memories) - 1) / 2) * width
            cell = result.cell(row, memory)
            summary = _summary(cell, what) if cell else None
            if summary is None:
                if cell is not None and cell.error:
                    failures.append((x, _failure(cell)))
                continue
            upper = summary.max if what == "cold" else summary.p95
            xs.append(x)
            heights.append(summary.p50)
            errs.append(max(0.0, upper - summary.p50))
            mem = cell.max_memory_mb() if cell else None
            labels.append((x, max(upper, summary.p50), f"{mem} MB" if mem is not None else ""))
        if xs:
            ax.bar(xs, heights, width, yerr=[[0] * len(errs), errs], capsize=3,
                   label=f"{memory} MB")
            values += heights
    # Memory above each bar's whisker, failures at the foot of the empty slot.
    for x, top, text in labels:
        ax.annotate(text, (x, top), xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom", fontsize=7, rotation=90)
    for x, text in failures:
        ax.annotate(text, (x, 0), xycoords=("data", "axes fraction"), xytext=(0, 4),
                    textcoords="offset points", ha="center", va="bottom", fontsize=8,
                    rotation=90, color="firebrick")
    ax.set_xticks(range(len(rows)), rows)
    ax.set_xlim(-0.5, len(rows) - 0.5)   # keep empty (failed) slots in view
    ax.set_ylabel("milliseconds")
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > LOG_SCALE_RATIO:
        ax.set_yscale("log")
    ax.margins(y=0.3)
    ax.legend(title="MemorySize", fontsize=8)


def _failure(cell: CellResult) -> str:
    if cell.timed_out:
        return "timed out"
    return "out of memory" if cell.error_type == "Runtime.OutOfMemory" else "failed"


def _summary(cell: CellResult, what: str) -> Summary | None:
    return cell.cold_start() if what == "cold" else cell.summary("warm")
