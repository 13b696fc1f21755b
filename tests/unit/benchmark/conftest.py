"""A fixed BenchResult (made-up samples, not measurements) shared by the render/pick tests."""

from __future__ import annotations

import pytest

from lambdalite.benchmark.config import BenchOptions, config_for
from lambdalite.benchmark.results import (
    BenchResult,
    CellResult,
    ColdSample,
    PackageSize,
    RowResult,
    WarmSample,
)

MB = 1024 * 1024


def sizes(unzipped_mb: float, zipped_mb: float) -> tuple[PackageSize, ...]:
    return (
        PackageSize("x86_64", "zip", "python3.11", int(unzipped_mb * MB), int(zipped_mb * MB)),
        PackageSize("arm64", "zip", "python3.12", int(unzipped_mb * MB) - MB,
                    int(zipped_mb * MB) - MB),
    )


def cell(row: str, memory: int, init: float, first: float, warm: list[float],
         mem: int = 100) -> CellResult:
    cold = tuple(ColdSample(init + i, first, init + first + 20, mem) for i in range(3))
    return CellResult(row, memory, cold, tuple(WarmSample(w, w + 1, mem + 5) for w in warm))


def make_result() -> BenchResult:
    config = config_for(BenchOptions(model="fixed", memory_sizes=(1024, 3008), cold_starts=3, warm=4))
    rows = (
        RowResult("tf", "tf", None, 200 * MB, None, None,
                  (PackageSize("x86_64", "image", "python3.11", 1700 * MB, None),)),
        RowResult("float32", "litert", "float32", 200 * MB, 0.98, 0.0, sizes(300, 120)),
        RowResult("dynamic", "litert", "dynamic", 50 * MB, 0.975, 0.5, sizes(150, 60)),
        RowResult("int8", "litert", "int8", 50 * MB, 0.95, 3.0, sizes(150, 58)),
    )
    timed_out = CellResult("tf", 1024, (), (), "Task timed out after 30.00 seconds",
                           "Sandbox.Timedout")
    cells = (
        timed_out,
        cell("tf", 3008, 9000, 3000, [800, 820, 810, 900], mem=900),
        cell("float32", 1024, 400, 300, [200, 210, 220, 230]),
        cell("float32", 3008, 400, 150, [100, 110, 105, 120]),
        cell("dynamic", 1024, 300, 100, [50, 60, 55, 52]),
        cell("dynamic", 3008, 300, 80, [40, 41, 42, 43]),
        cell("int8", 1024, 300, 90, [30, 31, 32, 33]),
        cell("int8", 3008, 300, 90, [29, 30, 31, 32]),
    )
    return BenchResult(
        model="fixed", model_dir="/nowhere", settings=config.settings(),
        machine={"cpu_model": "Test CPU", "cores": 2, "limits": "limits: test"},
        rows=rows, cells=cells, started="2026-01-01T00:00:00Z", finished="2026-01-01T00:01:00Z",
        notes=("a note",), event="test event")


@pytest.fixture
def result() -> BenchResult:
    return make_result()


def named(row: list[str]) -> dict[str, str]:
    """A table row by column name (the columns move as the table grows)."""
    from lambdalite.benchmark.render import HEADER

    return dict(zip(HEADER, row, strict=True))
