"""Emulated arm64 cells in a benchmark: answers compared with a tolerance, shown marked
"emulated", never priced and never picked."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lambdalite.benchmark.answers import difference
from lambdalite.benchmark.pick import Constraints, pick
from lambdalite.benchmark.render import render_markdown, table_rows
from lambdalite.benchmark.results import BenchResult

from .conftest import cell, named


def api(body: object) -> bytes:
    return json.dumps({"statusCode": 200, "body": json.dumps(body)}).encode()


@pytest.mark.parametrize(("a", "b", "differs"), [
    (api({"predicted_label": 7}), api({"predicted_label": 7}), None),
    (api({"predicted_label": 7}), api({"predicted_label": 1}), "response.body.predicted_label"),
    # LiteRT's arm64 and x86_64 float kernels round differently (measured: up to 1.2e-7).
    (api({"scores": [0.1, 0.9]}), api({"scores": [0.1 + 1.2e-7, 0.9]}), None),
    (api({"scores": [0.1, 0.9]}), api({"scores": [0.2, 0.9]}), "response.body.scores[0]"),
    (api({"bits": [1, 0, 1]}), api({"bits": [1, 0]}), "has 2 items instead of 3"),
    (api({"ok": True}), api({"ok": 1}), "response.body.ok"),
    (b"not json", b"not json", None),
])
def test_answers_compare_labels_exactly_and_floats_within_a_tolerance(
        a: bytes, b: bytes, differs: str | None):
    found = difference(a, b)
    assert (found is None) if differs is None else (found is not None and differs in found)


def with_emulated(result: BenchResult, answers: str = "equal") -> BenchResult:
    emulated = replace(cell("float32", 1024, 9000, 900, [40.0, 41.0, 42.0], mem=170),
                       arch="arm64", emulated=True, answers=answers)
    settings = {**result.settings, "runtime": "python3.13", "emulate_arm64": True}
    return replace(result, cells=(*result.cells, emulated), settings=settings)


def test_the_emulated_row_is_marked_and_not_priced(result: BenchResult):
    rows = table_rows(with_emulated(result))
    (row,) = [named(r) for r in rows if "emulated" in r[0]]
    assert row["variant"] == "float32 (LiteRT), arm64 emulated" and row["memory"] == "1024 MB"
    assert row["cold start"].endswith("(emulated)") and row["warm run"] == "41.0 ms (emulated)"
    assert row["memory used"] == "175 MB (qemu)"
    assert row["$/1M x86_64"] == row["$/1M arm64"] == "-"
    assert len(rows) == len(table_rows(result)) + 1
    md = render_markdown(with_emulated(result))
    assert "rows marked 'arm64 emulated'" in md and "not priced and not picked" in md
    assert "float32 @ 1024 MB (arm64 emulated): answers equal to the x86_64 run's" in md
    assert "arm64 packages are built, checked and run emulated" in md


def test_answers_that_differ_are_said_loudly(result: BenchResult):
    md = render_markdown(with_emulated(result, "response.body.predicted_label is 1, not 7"))
    assert "answers DIFFER from the x86_64 run's: response.body.predicted_label is 1" in md


def test_the_pick_never_takes_an_emulated_cell(result: BenchResult):
    # The emulated cell is the fastest of all here; it is still not a candidate.
    fast = replace(with_emulated(result), cells=tuple(
        replace(c, warm=tuple(replace(w, duration_ms=0.01) for w in c.warm)) if c.emulated
        else c for c in with_emulated(result).cells))
    verdict = pick(fast, Constraints("latency"))
    assert verdict.row == pick(result, Constraints("latency")).row
    assert any(r.startswith("float32 @ 1024 MB (arm64 emulated): its timings are emulated")
               for r in verdict.rejected)
    (emulated,) = [c for c in fast.cells if c.emulated]
    assert emulated.cost("arm64", 0.01) is None and emulated.cost("x86_64", 0.01) is None


def test_an_emulated_cell_survives_the_json_round_trip(result: BenchResult, tmp_path):
    loaded = BenchResult.load(with_emulated(result).save(tmp_path / "r.json"))
    (emulated,) = [c for c in loaded.cells if c.emulated]
    assert (emulated.arch, emulated.answers) == ("arm64", "equal")
    assert loaded.cell("float32", 1024, emulated=True) == emulated
    assert loaded.cell("float32", 1024) is not None and not loaded.cell("float32", 1024).emulated
