"""Floor rows in a benchmark: the no-op and the imports-only handler run from a row's package;
every cold start is shown over its backend's imports-only floor, floors are never priced or
picked, and they survive a JSON round trip."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from lambdalite.benchmark.config import BenchOptions, config_for
from lambdalite.benchmark.pick import Constraints, pick
from lambdalite.benchmark.render import render_markdown, table_rows
from lambdalite.benchmark.results import BenchResult, RowResult
from lambdalite.benchmark.runner import Row, plan_floors, total_units

from .conftest import cell, named, sizes


def with_floors(result: BenchResult) -> BenchResult:
    """Floors of the litert backend (from float32's package): no-op 40 ms, imports 180 ms."""
    floors = (
        RowResult("floor-noop", "litert", None, None, None, None, sizes(300, 120),
                  floor="noop", package_of="float32"),
        RowResult("floor-imports", "litert", None, None, None, None, sizes(300, 120),
                  floor="imports", package_of="float32"),
    )
    cells = (cell("floor-noop", 1024, 30, 9, [0.1, 0.1]),
             cell("floor-imports", 1024, 170, 9, [0.1, 0.1]),
             cell("floor-noop", 3008, 30, 9, [0.1, 0.1]),
             cell("floor-imports", 3008, 170, 9, [0.1, 0.1]))
    return replace(result, rows=(*floors, *result.rows), cells=(*cells, *result.cells))


def test_every_cold_start_is_shown_over_its_backends_floor(result: BenchResult):
    floored = with_floors(result)
    rows = {(r["variant"], r["memory"]): r for r in map(named, table_rows(floored))}
    noop = rows[("floor: no-op handler (litert package)", "1024 MB")]
    imports = rows[("floor: imports only (numpy, PIL.Image, ai_edge_litert.interpreter)",
                    "1024 MB")]
    # cold start p50 = init p50 + first: no-op 31 + 9, imports 171 + 9, float32 401 + 300
    assert noop["cold start"] == "40.0 ms" and noop["over floor"] == "-"
    assert imports["cold start"] == "180 ms" and imports["over floor"] == "no-op + 140 ms"
    assert rows[("float32 (LiteRT)", "1024 MB")]["over floor"] == "floor + 521 ms"
    assert noop["$/1M x86_64"] == noop["$/1M arm64"] == imports["$/1M x86_64"] == "-"
    # The tf backend has no floor rows here: nothing to subtract.
    assert rows[("tf (original, TensorFlow)", "3008 MB")]["over floor"] == "-"
    assert "floor rows: the same package with another Handler (litert: the float32 package)" \
        in render_markdown(floored)


def test_without_floor_rows_the_column_is_empty(result: BenchResult):
    assert {named(r)["over floor"] for r in table_rows(result)} == {"-"}


def test_a_floor_is_never_picked(result: BenchResult):
    floored = with_floors(result)
    verdict = pick(floored, Constraints(objective="latency"))
    assert verdict.row is not None and not verdict.row.startswith("floor")
    assert verdict == pick(result, Constraints(objective="latency"))


def test_floor_rows_survive_json(result: BenchResult, tmp_path: Path):
    floored = with_floors(result)
    path = tmp_path / "bench.json"
    floored.save(path)
    loaded = BenchResult.load(path)
    assert loaded.rows[:2] == floored.rows[:2] and loaded.rows[0].is_floor
    assert loaded.over_floor_ms(loaded.rows[3], 1024) == floored.over_floor_ms(
        floored.rows[3], 1024)


def test_floors_per_backend_from_its_first_row_and_counted_in_progress():
    rows = [Row("tf", "tf", None), Row("float32", "litert", "float32"),
            Row("int8", "litert", "int8")]
    config = config_for(BenchOptions(memory_sizes=(1024,), cold_starts=2, warm=3, warmup=1))
    floors = plan_floors(config, rows)
    assert [(f.name, f.floor, f.package_of) for f in floors] == [
        ("floor-noop-tf", "noop", "tf"), ("floor-imports-tf", "imports", "tf"),
        ("floor-noop", "noop", "float32"), ("floor-imports", "imports", "float32")]
    assert plan_floors(replace(config, floors=False), rows) == []
    # 3 builds, then (3 rows + 4 floors) x 1 memory x (2 + 1 + 3) invocations
    assert total_units(config, len(rows), len(floors)) == 3 + 7 * 6
