"""Which backend and variant a configuration serves, and what an impossible choice says."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdalite.errors import ModelError
from lambdalite.function.backends import load_backend
from lambdalite.function.config import BackendName, FunctionConfig
from lambdalite.manifest import Manifest


def test_tf_backend_without_tf_model_names_keep_tf_model(mnist_model_dir: Path) -> None:
    manifest = Manifest.load(mnist_model_dir)
    manifest = manifest._replace(model=manifest.model._replace(tf_model=None))
    config = FunctionConfig(model_dir=mnist_model_dir, backend=BackendName.TF)
    with pytest.raises(ModelError, match="lambdalite convert MODEL --out DIR --keep-tf-model"):
        load_backend(config, manifest)


def _with_onnx(manifest: Manifest) -> Manifest:
    twins = {f"onnx_{v}": manifest.variants[v]._replace(name=f"onnx_{v}", file=f"{v}.onnx",
                                  format="onnx") for v in ("float32", "dynamic")}
    return manifest._replace(variants={**manifest.variants, **twins})


@pytest.mark.parametrize(("variant", "backend", "served"), [
    (None, None, "float32"),                      # unset: the default variant's own backend
    ("onnx_dynamic", None, "onnx_dynamic"),       # an ONNX variant named: ONNX Runtime
    (None, "onnxruntime", "onnx_float32"),        # the backend named: the default's twin
    ("dynamic", "onnxruntime", "onnx_dynamic"),
    ("onnx_dynamic", "onnxruntime", "onnx_dynamic"),
    ("int8", "litert", "int8"),
    ("int8", "tf", "int8"),                       # the TF backend serves tf_model, unchecked
])
def test_the_variant_each_backend_serves(mnist_model_dir: Path, variant: str | None,
                                         backend: str | None, served: str) -> None:
    assert _with_onnx(Manifest.load(mnist_model_dir)).variant_for(variant, backend).name == served


@pytest.mark.parametrize(("variant", "backend", "message"), [
    ("onnx_float32", "litert", "onnx_float32 is a .onnx file, which the onnxruntime backend "
                               "runs, not litert"),
    ("float16", "onnxruntime", "none for 'float16'.*--onnx"),
    ("bf16", None, "variant 'bf16' is not in this manifest"),
])
def test_a_variant_the_backend_cannot_serve_says_what_to_do(mnist_model_dir: Path, variant: str,
                                                            backend: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        _with_onnx(Manifest.load(mnist_model_dir)).variant_for(variant, backend)
