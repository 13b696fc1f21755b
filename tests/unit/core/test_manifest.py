from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdalite.errors import ModelError
from lambdalite.manifest import (
    Evaluation,
    Manifest,
    ModelInfo,
    Preprocessing,
    Quantization,
    Source,
    TensorSpec,
    Variant,
)


def _manifest() -> Manifest:
    spec_in = TensorSpec("input", [-1, 28, 28, 1], "int8", Quantization(0.0039, -128))
    spec_out = TensorSpec("output", [-1, 10], "int8", Quantization(0.00390625, -128))
    return Manifest(
        model=ModelInfo(
            name="tiny",
            source=Source(path="m.keras", format="keras", sha256="ab"),
            tf_version="2.21.0",
            labels=[str(i) for i in range(10)],
            output_activation="softmax",
        ),
        preprocessing=Preprocessing(color_mode="L", height=28, width=28),
        variants={
            "int8": Variant(
                name="int8", file="int8.tflite", size_bytes=10, sha256="cd",
                inputs=[spec_in], outputs=[spec_out],
                evaluation=Evaluation(examples=5, accuracy=0.8, agreement_with_float32=1.0,
                                      mean_latency_ms=0.1),
            )
        },
        default_variant="int8",
    )


def test_round_trip_through_disk(tmp_path: Path) -> None:
    m = _manifest()
    m.save(tmp_path)
    loaded = Manifest.load(tmp_path)
    assert loaded == m
    assert loaded.variant().inputs[0].quantization.zero_point == -128


def test_unknown_variant_names_the_ones_present() -> None:
    with pytest.raises(ModelError, match="it has: int8"):
        _manifest().variant("float16")


def test_wrong_schema_version_is_a_clear_error(tmp_path: Path) -> None:
    data = _manifest().to_dict()
    data["schema_version"] = 99
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="schema_version 99"):
        Manifest.load(tmp_path)


@pytest.mark.parametrize("breakage", ["drop_model", "bad_variant", "not_json"])
def test_malformed_manifest_is_a_model_error(tmp_path: Path, breakage: str) -> None:
    data = _manifest().to_dict()
    if breakage == "drop_model":
        del data["model"]
        text = json.dumps(data)
    elif breakage == "bad_variant":
        data["variants"]["int8"]["inputs"] = [{"shape": [1]}]
        text = json.dumps(data)
    else:
        text = "{not json"
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ModelError):
        Manifest.load(tmp_path)


def test_missing_manifest_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="lambdalite convert"):
        Manifest.load(tmp_path)
