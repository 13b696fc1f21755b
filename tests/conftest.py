"""Fixtures shared by every tier. Component fixtures live in tests/<tier>/<component>/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lambdalite.examples import mnist_example

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "tests" / "events"
HANDLER_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "handlers"
MNIST_EXAMPLE = mnist_example()       # lambdalite/examples/mnist, found as the package finds it
MNIST_MODEL_DIR = MNIST_EXAMPLE / "model"

# Keep TensorFlow quiet and single-process friendly in every subprocess the tests start.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def mnist_model_dir() -> Path:
    """The committed MNIST model folder (manifest + .tflite variants + TF model)."""
    if not (MNIST_MODEL_DIR / "manifest.json").exists():
        pytest.fail("lambdalite/examples/mnist/model/manifest.json is missing: run `lambdalite train` first")
    return MNIST_MODEL_DIR
