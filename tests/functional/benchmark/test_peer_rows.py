"""``lambdalite.bench`` with the write-up's runtime next to LiteRT on the bundled MNIST model:
tflite-runtime 2.7.0 on python3.9, built and run in the same run by the same engine, dynamic
converted with --dense-per-tensor (into a temporary cache). Checks the rows, their answers and
accuracy on their own runtime, and that the ratios are printed; never speed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import lambdalite
from lambdalite.benchmark.config import PEER_MARK
from lambdalite.benchmark.large_model import CACHE_ENV
from lambdalite.benchmark.pick import Constraints, pick
from lambdalite.benchmark.render import render_markdown
from lambdalite.local.engine import runtime_warning
from lambdalite.manifest import Manifest

pytestmark = [
    pytest.mark.slow, pytest.mark.tf,
    pytest.mark.skipif(runtime_warning("python3.9") is not None,
                       reason=f"no Python 3.9 with awslambdaric: {runtime_warning('python3.9')}"),
]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("peer-bench")


@pytest.fixture(scope="module")
def result(out: Path):
    pytest.importorskip("tensorflow")   # the dynamic peer variant is converted here
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(out / "cache"))
        return lambdalite.bench(lambdalite.BenchOptions(
            model="mnist", variants=("float32", "dynamic"), quick=True, warm=2, warmup=0,
            arm64_sizes=False, peer_rows=True, out=out))


def test_the_peer_rows_run_next_to_litert(result) -> None:
    assert [r.row for r in result.rows] == ["floor-noop", "floor-imports", "float32", "dynamic",
                                            "tfl27-float32", "tfl27-dynamic"]
    for row in result.rows[4:]:
        assert row.peer == "tflite-runtime==2.7.0 on python3.9"
        (size,) = row.sizes
        assert size.error is None and size.runtime == "python3.9"
        assert "tflite-runtime==2.7.0" in size.installed
        # measured through its own function on 2.7.0, on the example's 1500 labelled digits
        assert row.runtime_accuracy is not None and row.runtime_accuracy > 0.97
    for cell in result.cells:
        assert cell.error is None and len(cell.warm) == 2
    assert {c.row: c.answers for c in result.cells if c.row.startswith("tfl27")} == {
        "tfl27-float32": "equal", "tfl27-dynamic": "equal"}


def test_the_peer_variants_are_converted_once_and_evaluated(result, out: Path) -> None:
    (folder,) = (out / "cache" / "models").glob(
        "mnist-dense-per-tensor-*")
    manifest = Manifest.load(folder)
    assert sorted(manifest.variants) == ["dynamic", "float32"]
    ev = manifest.variant("dynamic").evaluation
    assert ev is not None and ev.dataset == "eval.npz" and ev.examples == 1500
    assert result.row("tfl27-dynamic").accuracy == ev.accuracy


def test_the_table_marks_them_and_prints_the_ratios(result) -> None:
    text = render_markdown(result)
    assert f"| dynamic (tflite-runtime==2.7.0 on python3.9: {PEER_MARK}) | 1024 MB |" in text
    assert "tfl27 dynamic vs tfl27 float32 at 1024 MB: warm p50" in text
    assert "vs tfl27 dynamic" in text and "x faster" in text
    assert "python3.9 is deprecated on AWS Lambda" in text


def test_a_peer_row_is_never_picked(result) -> None:
    verdict = pick(result, Constraints())
    assert not verdict.row.startswith("tfl27")
    assert any("tfl27-dynamic @ 1024 MB: it is the write-up's runtime" in r
               for r in verdict.rejected)


def test_a_model_that_is_not_a_classifier_gets_its_peer_files(tmp_path: Path,
                                                               monkeypatch) -> None:
    """The large model (and stegastamp) give bits: `lambdalite evaluate` refuses them, so the
    dense-per-tensor files are made without it (their rows are checked by answers)."""
    pytest.importorskip("tensorflow")
    from lambdalite.benchmark.peer import dense_per_tensor_model
    from lambdalite.examples import stegastamp_example

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    model_dir = tmp_path / "steg" / "model"
    shutil.copytree(stegastamp_example() / "model", model_dir)
    # calibration data next to the model, as the large model has it (uint8 pictures)
    pictures = np.random.default_rng(0).integers(0, 256, (4, 400, 400, 3), dtype=np.uint8)
    np.savez(model_dir.parent / "calibration.npz", x=pictures)
    manifest = Manifest.load(model_dir)
    assert manifest.classifier_output is None
    folder = dense_per_tensor_model(model_dir, manifest, ("dynamic", "int8"))
    assert {"dynamic", "int8"} <= set(Manifest.load(folder).variants)
    assert (folder / "dynamic.tflite").is_file() and (folder / "int8.tflite").is_file()
