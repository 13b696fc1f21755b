"""The write-up's runtime in the bench: when its rows run, how they are planned, shown, never
picked (made-up samples, no measurement)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lambdalite.benchmark.config import PEER_MARK, BenchOptions, config_for
from lambdalite.benchmark.pick import Constraints, pick
from lambdalite.benchmark.render import HEADER, peer_ratios, render_markdown, table_rows
from lambdalite.benchmark.results import BenchResult, RowResult
from lambdalite.benchmark.runner import peer_rows
from lambdalite.manifest import Manifest

from .conftest import cell, sizes

PEER = "tflite-runtime==2.7.0 on python3.9"


def with_peers(result: BenchResult) -> BenchResult:
    rows = (*result.rows,
            RowResult("tfl27-float32", "litert", "float32", 200, 0.98, 0.0, sizes(84, 27),
                      peer=PEER, runtime_accuracy=0.98),
            RowResult("tfl27-dynamic", "litert", "dynamic", 50, 0.975, 0.5, sizes(84, 27),
                      peer=PEER, runtime_accuracy=0.975))
    cells = (*result.cells,
             cell("tfl27-float32", 3008, 300, 90, [80, 81, 82, 83]),
             replace(cell("tfl27-dynamic", 3008, 300, 3000, [2400, 2500, 2500, 2600]),
                     answers="equal"))
    return replace(result, rows=rows, cells=cells)


def test_full_runs_have_peer_rows_quick_ones_only_when_asked():
    assert config_for(BenchOptions()).peer_rows is True
    assert config_for(BenchOptions(quick=True)).peer_rows is False
    assert config_for(BenchOptions(quick=True, peer_rows=True)).peer_rows is True
    assert config_for(BenchOptions(peer_rows=False)).settings()["peer_rows"] is False


def test_the_ratios_are_printed_as_measured(result):
    lines = peer_ratios(with_peers(result))
    # 2500 vs 81.5 warm p50; LiteRT's best at 3008 MB is int8 (30.5 ms)
    assert "tfl27 dynamic vs tfl27 float32 at 3008 MB: warm p50 2.50 s vs 81.5 ms (30.7x)" in lines
    assert ("LiteRT's best (int8, warm p50 30.5 ms) vs tfl27 dynamic (2.50 s) at 3008 MB: "
            "82.0x faster (issue 14's goal on the large model at 3008 MB: >= 50x)") in lines
    assert "tfl27-dynamic @ 3008 MB: answer equal to LiteRT's dynamic row's" in lines
    assert peer_ratios(result) == []            # no peer rows, nothing to say


def test_the_rows_are_marked_and_show_accuracy_on_their_runtime(result):
    rows = table_rows(with_peers(result))
    dyn = next(r for r in rows if r[0].startswith("dynamic (tflite-runtime"))
    assert dyn[0] == f"dynamic ({PEER}: {PEER_MARK})" and dyn[1] == "3008 MB"
    assert dyn[HEADER.index("accuracy")] == "97.50% (-0.50 pt); 97.50% on its runtime"
    assert dyn[HEADER.index("over floor")] == "-"     # another Python than the floors'
    assert "82.0x faster" in render_markdown(with_peers(result))


def test_a_peer_row_is_never_picked_even_when_fastest(result):
    fast = with_peers(result)
    fast = replace(fast, cells=(*fast.cells, cell("tfl27-float32", 1024, 1, 1, [1, 1, 1, 1])))
    verdict = pick(fast, Constraints())
    assert not verdict.row.startswith("tfl27")
    assert any(r.startswith("tfl27-float32 @ 1024 MB: it is the write-up's runtime") for r in
               verdict.rejected)


def test_without_python39_the_rows_are_skipped_with_the_reason(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))      # no pyenv versions
    monkeypatch.setenv("PATH", str(tmp_path))            # and no python3.9 on PATH
    model_dir = Path(__file__).parents[3] / "lambdalite/examples/mnist/model"
    rows, notes = peer_rows(config_for(BenchOptions(peer_rows=True)), model_dir,
                            Manifest.load(model_dir))
    assert rows == []
    (note,) = notes
    assert note.startswith(f"no tfl27 rows ({PEER_MARK}: tflite-runtime==2.7.0 on python3.9): "
                           "python3.9: no Python 3.9 found")
    assert "pyenv install 3.9" in note


@pytest.mark.parametrize("options", [BenchOptions(peer_rows=False),
                                     BenchOptions(variants=("float16", "tf"), peer_rows=True)])
def test_no_peer_rows_unless_asked_and_a_variant_they_run_is_measured(options):
    model_dir = Path(__file__).parents[3] / "lambdalite/examples/mnist/model"
    assert peer_rows(config_for(options), model_dir, Manifest.load(model_dir)) == ([], [])
