"""The benchmark as one PNG: cold start (left) and warm latency (right) per variant, one bar
per MemorySize, Max Memory Used written on each bar. matplotlib's Agg backend: no display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lambdalite.bench.results import BenchResult, CellResult
from lambdalite.bench.stats import Summary

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
    for k, memory in enumerate(memories):
        xs, heights, errs, labels = [], [], [], []
        for i, row in enumerate(rows):
            cell = result.cell(row, memory)
            summary = _summary(cell, what) if cell else None
            if summary is None:
                if cell is not None and cell.error:
                    ax.text(i + (k - (len(memories) - 1) / 2) * width, 0, "timed out"
                            if cell.timed_out else "failed", rotation=90, ha="center",
                            va="bottom", fontsize=7, color="firebrick")
                continue
            xs.append(i + (k - (len(memories) - 1) / 2) * width)
            heights.append(summary.p50)
            upper = summary.max if what == "cold" else summary.p95
            errs.append(max(0.0, upper - summary.p50))
            mem = cell.max_memory_mb() if cell else None
            labels.append(f"{mem} MB" if mem is not None else "")
        if not xs:
            continue
        bars = ax.bar(xs, heights, width, yerr=[[0] * len(errs), errs], capsize=3,
                      label=f"{memory} MB")
        ax.bar_label(bars, labels=labels, fontsize=7, label_type="center", rotation=90,
                     color="white")
        values += heights
    ax.set_xticks(range(len(rows)), rows)
    ax.set_ylabel("milliseconds")
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > LOG_SCALE_RATIO:
        ax.set_yscale("log")
    ax.margins(y=0.25)
    ax.legend(title="MemorySize", fontsize=8)


def _summary(cell: CellResult, what: str) -> Summary | None:
    return cell.cold_start() if what == "cold" else cell.summary("warm")
