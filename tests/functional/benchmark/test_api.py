"""``lambdalite.bench`` called directly on the bundled MNIST model: typed options in, a typed
result out, progress through a callback. One row and its two floor rows (the same package
with the no-op and the imports-only Handler), one cold start and one warm call each."""

from __future__ import annotations

from pathlib import Path

import pytest

import lambdalite
from lambdalite.progress import Callback


@pytest.mark.slow
def test_bench_through_the_api(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    result = lambdalite.bench(
        lambdalite.BenchOptions(model="mnist", variants=("int8",), quick=True, warm=1, warmup=0,
                                arm64_sizes=False, out=tmp_path),
        progress=Callback(lambda _what, done, total: seen.append((done, total))))
    assert isinstance(result, lambdalite.BenchResult) and result.model == "mnist"
    noop, imports, row = result.rows
    assert (noop.floor, imports.floor, row.floor) == ("noop", "imports", None)
    assert noop.package_of == imports.package_of == "int8" and noop.sizes == row.sizes
    (size,) = row.sizes
    assert (row.row, size.arch, size.package_type, size.error) == ("int8", "x86_64", "zip", None)
    assert len(result.cells) == 3
    for cell in result.cells:
        assert cell.error is None and len(cell.cold) == 1 and len(cell.warm) == 1, cell
    assert result.over_floor_ms(row, 1024) is not None       # int8 next to its floor
    assert result.over_floor_ms(imports, 1024, "noop") is not None
    assert seen[-1] == (7, 7)          # one build, then 3 rows x (one cold start, one warm call)
    assert result.settings["quick"] is True
