"""Tensor models through ``lambdalite predict`` (a .npy and a .json of inputs) and
``lambdalite bench`` (a seeded tensor event from the manifest, accuracy on an evaluation set),
each through real builds and the real function in the local Lambda."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import lambdalite
from lambdalite.conversion.pipeline import convert
from lambdalite.conversion.plan import ConvertOptions
from lambdalite.prediction.api import PredictOptions, predict

from .conftest import OPTIONS, Models

pytestmark = [pytest.mark.tf, pytest.mark.slow]


def test_predict_sends_npy_and_json_inputs_to_a_tensor_model(models: Models,
                                                             tmp_path: Path) -> None:
    tabular = models("tabular")
    x = np.random.default_rng(4).random((3, 8), dtype=np.float32)
    np.save(tmp_path / "rows.npy", x)
    (tmp_path / "row.json").write_text(json.dumps(x[:1].tolist()))
    result = predict(PredictOptions(target=tabular.out, files=(tmp_path / "rows.npy",
                                                                tmp_path / "row.json"),
                                    cache_dir=tmp_path / "cache", trigger="direct"))
    assert result.ok, [c.reply.body[:500] for c in result.calls]
    want = tabular.keras({"features": x})["output_0"]
    npy, from_json = (json.loads(c.reply.body)["outputs"]["output_0"] for c in result.calls)
    np.testing.assert_allclose(npy, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(from_json, want[:1], rtol=1e-5, atol=1e-6)


def test_bench_sends_seeded_tensors_and_scores_the_evaluation_set(models: Models,
                                                                  tmp_path: Path) -> None:
    multi_out = models("multi_out")
    x = np.random.default_rng(9).random((6, 6), dtype=np.float32)
    expected = multi_out.keras({"x": x})
    wrong = expected["embedding"].copy()
    wrong[0] += 1.0                                    # one row of six cannot match
    np.savez(tmp_path / "eval.npz", **{"inputs/x": x, "outputs/probs": expected["probs"],
                                       "outputs/flags": expected["flags"],
                                       "outputs/embedding": wrong})
    folder = tmp_path / "model"
    convert(ConvertOptions(model=multi_out.source, out=folder, variants=("float32",),
                           evaluation_set=tmp_path / "eval.npz", **OPTIONS["multi_out"]))
    result = lambdalite.bench(lambdalite.BenchOptions(
        model=folder, variants=("float32",), quick=True, warm=1, warmup=0, arm64_sizes=False,
        memory_sizes=(256,), floors=False, out=tmp_path / "bench"))
    (cell,) = result.cells
    assert cell.error is None and len(cell.warm) == 1
    assert result.event.startswith("direct invoke, seeded tensors (x float32 [1, 6];")
    (row,) = result.rows
    assert row.accuracy == pytest.approx(5 / 6) and row.accuracy_drop_points == 0.0
    assert any(n.startswith("accuracy: measured through each row's function on eval.npz "
                            "(6 examples: the outputs against its outputs)")
               for n in result.notes)
