"""Choosing the TF backend without a kept TensorFlow model says which flag keeps it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lambdalite.errors import ModelError
from lambdalite.function.backends import load_backend
from lambdalite.function.config import BackendName, FunctionConfig
from lambdalite.manifest import Manifest


def test_tf_backend_without_tf_model_names_keep_tf_model(mnist_model_dir: Path) -> None:
    manifest = Manifest.load(mnist_model_dir)
    manifest = replace(manifest, model=replace(manifest.model, tf_model=None))
    config = FunctionConfig(model_dir=mnist_model_dir, backend=BackendName.TF)
    with pytest.raises(ModelError, match="lambdalite convert MODEL --out DIR --keep-tf-model"):
        load_backend(config, manifest)
