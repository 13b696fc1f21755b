from __future__ import annotations

import sys

import pytest

from lambdalite.benchmark.large_model import (
    ARCHITECTURE,
    build_keras_model,
    cache_root,
    import_tensorflow,
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
