"""``lambdalite.bench`` called directly on the bundled MNIST model: typed options in, a typed
result out, progress through a callback. One row, one cold start, one warm call."""

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
    (row,) = result.rows
    (size,) = row.sizes
    assert (row.row, size.arch, size.package_type, size.error) == ("int8", "x86_64", "zip", None)
    (cell,) = result.cells
    assert cell.error is None and len(cell.cold) == 1 and len(cell.warm) == 1
    assert seen[-1] == (3, 3)          # one build, one cold start, one warm call
    assert result.settings["quick"] is True
