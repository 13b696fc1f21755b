"""The LiteRT interpreter from another distribution: tflite-runtime for the write-up's rows."""

from __future__ import annotations

import pytest

from lambdalite.bundle.resolve import requirements_for
from lambdalite.errors import OptionError
from lambdalite.lambda_facts import BUILDABLE_RUNTIMES, deprecation_warning


def test_ai_edge_litert_by_default():
    assert requirements_for("litert") == ("numpy", "pillow", "ai-edge-litert")


def test_tflite_runtime_replaces_it_with_numpy_1():
    assert requirements_for("litert", ("tqdm",), litert_package="tflite-runtime==2.7.0") == (
        "numpy<2", "pillow", "tflite-runtime==2.7.0", "tqdm")
    assert requirements_for("litert", (), litert_package="ai-edge-litert==1.4.0") == (
        "numpy", "pillow", "ai-edge-litert==1.4.0")
    assert requirements_for("tf", (), litert_package="tflite-runtime==2.7.0") == (
        "numpy", "pillow", "tensorflow")           # the TF backend has no LiteRT interpreter


def test_another_distribution_is_refused_with_what_to_use():
    with pytest.raises(OptionError, match=r"comes from ai-edge-litert or tflite-runtime"):
        requirements_for("litert", (), litert_package="onnxruntime")


def test_python39_is_buildable_with_a_deprecation_warning():
    assert "python3.9" in BUILDABLE_RUNTIMES
    warning = deprecation_warning("python3.9")
    assert warning is not None and "deprecated on AWS Lambda (since 2025-12-15)" in warning
    assert deprecation_warning("python3.12") is None
