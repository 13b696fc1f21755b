"""The manifest JSON Schema (versioned, shipped as package data) and its check."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from lambdalite.conversion.schema import manifest_schema, schema_errors, validate_manifest
from lambdalite.errors import ModelError
from lambdalite.manifest import ALL_VARIANTS, SCHEMA_VERSION, Manifest


@pytest.fixture(scope="module")
def good(mnist_model_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((mnist_model_dir / "manifest.json").read_text())
    return data


def test_schema_is_versioned_like_the_dataclasses() -> None:
    schema = manifest_schema()
    assert schema["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    assert tuple(schema["$defs"]["variant_name"]["enum"]) == ALL_VARIANTS


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
        ("schema_version", 1, "$.schema_version"),  # read and upgraded, never written
        ("variants.int8.sha256", "abc", "$.variants.int8.sha256"),
        ("variants.int8.inputs.0.quantization", KeyError, "$.variants.int8.inputs[0]"),
        ("variants.int8.inputs.0.dtype", "int4", "$.variants.int8.inputs[0].dtype"),
        ("variants.int8.inputs.0.logical", KeyError, "$.variants.int8.inputs[0]"),
        ("inputs.0.preprocessing.color_mode", "CMYK", "$.inputs[0].preprocessing.color_mode"),
        ("inputs.0.preprocessing.height", 0, "$.inputs[0].preprocessing.height"),
        ("inputs.0.preprocessing", KeyError, "$.inputs[0]"),  # an image input needs it
        ("inputs.0.kind", "audio", "$.inputs[0].kind"),
        ("outputs.0.kind", "label", "$.outputs[0].kind"),
        ("outputs.0.threshold", 0.5, "$.outputs[0]"),  # only a bits output has one
        ("hooks", {"module": "../evil.py", "requirements": []}, "$.hooks"),
        ("evaluation_set", "eval.csv", "$.evaluation_set"),
        ("api_path", "decode", "$.api_path"),       # an API path starts with /
        ("api_path", "/de code", "$.api_path"),
        ("model.source.format", "onnx", "$.model.source.format"),
        ("model.name", KeyError, "$.model"),
        ("default_variant", "bfloat16", "$.default_variant"),
        ("variants.float32.extra", 1, "$.variants.float32"),
    ],
)
def test_violations_name_the_field(good: dict[str, Any], path: str, value: Any, where: str) -> None:
    errors = schema_errors(_broken(good, path, value))
    assert errors and errors[0].startswith(where), errors


def test_validate_raises_a_model_error_listing_the_problems(good: dict[str, Any]) -> None:
    with pytest.raises(ModelError, match=r"schema version 2: \$\.inputs\[0\]\.preprocessing\.scale"):
        validate_manifest(_broken(good, "inputs.0.preprocessing.scale", "1/255"))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("variants.int8.inputs.0.logical", "pixels", "variant int8 has no tensor for input image"),
        ("outputs.0.labels", ["a", "b"], "output output_0 has 2 labels but 10 classes"),
        ("default_variant", "float16", "default_variant float16 is not one of the variants"),
        ("inputs.0.name", "pixels", "variant float32 has no tensor for input pixels"),
    ],
)
def test_what_the_schema_cannot_say_is_checked_too(
    good: dict[str, Any], path: str, value: Any, message: str
) -> None:
    data = _broken(good, path, value)
    if path == "default_variant":
        del data["variants"]["float16"]
    with pytest.raises(ModelError, match=message):
        validate_manifest(data)


def test_unknown_variant_key_is_refused(good: dict[str, Any]) -> None:
    data = copy.deepcopy(good)
    data["variants"]["bf16"] = data["variants"]["float32"]
    assert any("bf16" in e for e in schema_errors(data))


def _with_onnx(good: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(good)
    entry = {**copy.deepcopy(data["variants"]["float32"]), "name": "onnx_float32",
             "file": "model.onnx", "format": "onnx", **changes}
    data["variants"][entry["name"]] = entry
    return data


def test_an_onnx_variant_is_an_entry_with_its_format(good: dict[str, Any]) -> None:
    data = _with_onnx(good)
    assert schema_errors(data) == []
    manifest = Manifest.from_dict(data)
    assert manifest.variants["onnx_float32"].format == "onnx"
    assert manifest.variants["float32"].format == "tflite"
    assert manifest.to_dict() == data  # a tflite entry is written without "format", as before
    sided = _with_onnx(good, external_data="model.onnx.data")
    assert schema_errors(sided) == []
    assert Manifest.from_dict(sided).variants["onnx_float32"].files == ("model.onnx",
                                                                        "model.onnx.data")


@pytest.mark.parametrize(
    "changes",
    [
        {"file": "model.tflite"},             # an onnx entry names an .onnx file
        {"name": "float32", "file": "x.onnx"},  # and has an onnx_ name
        {"format": "tflite"},                 # an onnx_ name is an onnx file
        {"format": "pb"},
        {"external_data": "../weights.data"},  # a side file in the model folder only
    ],
)
def test_format_name_and_file_agree(good: dict[str, Any], changes: dict[str, Any]) -> None:
    data = _with_onnx(good, **changes)
    assert any(e.startswith("$.variants") for e in schema_errors(data)), schema_errors(data)
