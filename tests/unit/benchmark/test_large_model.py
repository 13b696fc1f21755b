from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lambdalite.benchmark.large_model import (
    ARCHITECTURE,
    build_keras_model,
    cache_root,
    import_tensorflow,
    keep_built,
    model_key,
)
from lambdalite.errors import DependencyError


def test_architecture_is_the_writeups_scale():
    params = ARCHITECTURE.param_count()
    assert 51_000_000 < params < 53_000_000                 # ~52M
    assert 200 < params * 4 / 1e6 < 220                     # ~210 MB as float32
    assert ARCHITECTURE.input_shape == (400, 400, 3) and ARCHITECTURE.outputs == 100
    assert any(c.stride > 1 for c in ARCHITECTURE.convs)


def test_cache_key_changes_with_what_makes_the_model():
    assert model_key("2.21.0") == model_key("2.21.0")
    assert model_key("2.21.0") != model_key("2.20.0")
    assert model_key("2.21.0", seed=1) != model_key("2.21.0")
    assert model_key("2.21.0", tf2onnx_version="1.17.0") != model_key("2.21.0")


def test_a_new_recipe_for_the_onnx_twin_rebuilds_the_cached_model(monkeypatch):
    from lambdalite.conversion import plan

    before = model_key("2.21.0", tf2onnx_version="1.17.0")
    monkeypatch.setattr(plan, "ONNX_DYNAMIC_RECIPE", "int8 weights of MatMul/Gemm")
    assert model_key("2.21.0", tf2onnx_version="1.17.0") != before
    assert model_key("2.21.0") == model_key("2.21.0")   # no ONNX in the key: unchanged
    assert cache_root({"LAMBDALITE_CACHE_DIR": "/c"}).as_posix() == "/c/models"


def test_missing_tensorflow_is_a_clear_dependency_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)   # makes `import tensorflow` fail
    with pytest.raises(DependencyError, match=r"lambdalite\[tf\]"):
        import_tensorflow()


@pytest.mark.tf
def test_keras_model_has_the_counted_parameters_and_fixed_weights():
    pytest.importorskip("tensorflow")
    model = build_keras_model()
    assert model.count_params() == ARCHITECTURE.param_count()
    assert tuple(model.input_shape[1:]) == (400, 400, 3)
    assert tuple(model.output_shape[1:]) == (100,)
    assert model.layers[-1].get_config()["activation"] == "sigmoid"
    first = model.get_layer("dense").get_weights()[0][:3, :3].copy()
    again = build_keras_model().get_layer("dense").get_weights()[0][:3, :3]
    assert (first == again).all()


def test_the_large_model_declares_its_outputs_as_bits(monkeypatch):
    from lambdalite.benchmark import large_model

    assert large_model.OUTPUT_KINDS == {"output_0": "bits"}
    bits = model_key("2.21.0")
    monkeypatch.setattr(large_model, "OUTPUT_KINDS", {})
    assert model_key("2.21.0") != bits      # a model cached before (as scores) is rebuilt


@pytest.mark.tf
def test_a_small_large_model_converts_with_bits(tmp_path):
    """The same build and conversion at a tiny scale: its output is recorded as bits."""
    pytest.importorskip("tensorflow")
    import numpy as np

    from lambdalite.benchmark.large_model import Architecture, ConvLayer, _convert
    from lambdalite.manifest import Manifest
    from lambdalite.progress import SILENT

    arch = Architecture((40, 40, 3), (ConvLayer(4, 3, 2),), 8, 100)
    build_keras_model(arch).save(tmp_path / "m.keras")
    np.savez(tmp_path / "c.npz", x=np.zeros((2, 40, 40, 3), np.uint8))
    _convert(tmp_path / "m.keras", tmp_path / "out", tmp_path / "c.npz", ("float32",), SILENT)
    (output,) = Manifest.load(tmp_path / "out").outputs
    assert (output.name, output.kind, output.shape) == ("output_0", "bits", [-1, 100])


def test_keep_built_keeps_the_first_finished_folder_and_replaces_an_unfinished_one(tmp_path):
    folder = tmp_path / "large-x"
    folder.mkdir()
    (folder / "stale.txt").write_text("an interrupted run's leftovers, no manifest")

    def scratch(pid: int) -> Path:
        work = tmp_path / f"large-x.partial-{pid}"
        (work / "model").mkdir(parents=True)
        (work / "model" / "manifest.json").write_text(f'{{"by": {pid}}}')
        return work

    first, second = scratch(1), scratch(2)
    marker = folder / "model" / "manifest.json"
    assert keep_built(first, folder, marker) is True
    assert not first.exists() and not (folder / "stale.txt").exists()
    assert keep_built(second, folder, marker) is False      # the other finished first
    assert not second.exists() and marker.read_text() == '{"by": 1}'
