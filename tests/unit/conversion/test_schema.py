"""The manifest JSON Schema (versioned, shipped as package data) and its check."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from lambdalite.conversion.schema import manifest_schema, schema_errors, validate_manifest
from lambdalite.errors import ModelError
from lambdalite.manifest import SCHEMA_VERSION, VARIANTS, Manifest


@pytest.fixture(scope="module")
def good(mnist_model_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((mnist_model_dir / "manifest.json").read_text())
    return data


def test_schema_is_versioned_like_the_dataclasses() -> None:
    schema = manifest_schema()
    assert schema["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    assert tuple(schema["$defs"]["variant_name"]["enum"]) == VARIANTS


def test_committed_mnist_manifest_is_valid_and_round_trips(good: dict[str, Any]) -> None:
    assert schema_errors(good) == []
    manifest = Manifest.from_dict(good)
    validate_manifest(manifest)
    assert manifest.to_dict() == good


def _broken(good: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(good)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        ("schema_version", 2, "$.schema_version"),
        ("variants.int8.sha256", "abc", "$.variants.int8.sha256"),
        ("variants.int8.inputs.0.quantization", KeyError, "$.variants.int8.inputs[0]"),
        ("variants.int8.inputs.0.dtype", "int4", "$.variants.int8.inputs[0].dtype"),
        ("preprocessing.color_mode", "CMYK", "$.preprocessing.color_mode"),
        ("preprocessing.height", 0, "$.preprocessing.height"),
        ("model.source.format", "onnx", "$.model.source.format"),
        ("model.tf_version", KeyError, "$.model"),
        ("default_variant", "bfloat16", "$.default_variant"),
        ("variants.float32.extra", 1, "$.variants.float32"),
    ],
)
def test_violations_name_the_field(good: dict[str, Any], path: str, value: Any, where: str) -> None:
    errors = schema_errors(_broken(good, path, value))
    assert errors and errors[0].startswith(where), errors


def test_validate_raises_a_model_error_listing_the_problems(good: dict[str, Any]) -> None:
    with pytest.raises(ModelError, match=r"schema version 1: \$\.preprocessing\.scale"):
        validate_manifest(_broken(good, "preprocessing.scale", "1/255"))


def test_unknown_variant_key_is_refused(good: dict[str, Any]) -> None:
    data = copy.deepcopy(good)
    data["variants"]["bf16"] = data["variants"]["float32"]
    assert any("bf16" in e for e in schema_errors(data))
