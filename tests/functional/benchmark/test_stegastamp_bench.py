"""``lambdalite bench`` runs the StegaStamp example like the others: its API Gateway event,
and its accuracy measured through each row's function and hooks (the decoded secrets equal
the encoded ones). A small configuration: two rows, one cold start, one warm call."""

from __future__ import annotations

from pathlib import Path

import pytest

import lambdalite
from lambdalite.benchmark.render import render_markdown

pytest.importorskip("bchlib")


@pytest.mark.slow
def test_bench_measures_the_stegastamp_example(tmp_path: Path) -> None:
    result = lambdalite.bench(lambdalite.BenchOptions(
        model="stegastamp", variants=("float32", "int8"), quick=True, warm=1, warmup=0,
        arm64_sizes=False, memory_sizes=(256,), floors=False, out=tmp_path))
    assert result.model == "stegastamp"
    assert result.event.startswith("the stegastamp example's events/event.json")
    assert [c.error for c in result.cells] == [None, None]
    assert [(r.row, r.accuracy, r.accuracy_drop_points) for r in result.rows] == [
        ("float32", 1.0, 0.0), ("int8", 1.0, 0.0)]
    assert ("accuracy: measured through each row's function on eval.npz (8 examples: the "
            "hooks' answers against its answers)") in result.notes
    assert "100.00%" in render_markdown(result)
