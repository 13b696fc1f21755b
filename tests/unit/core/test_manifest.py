from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdalite.errors import ModelError
from lambdalite.manifest import (
    Evaluation,
    Hooks,
    InputSpec,
    Manifest,
    ModelInfo,
    OutputSpec,
    Preprocessing,
    Quantization,
    Source,
    TensorSpec,
    Variant,
    logical_shape,
)

V1_MNIST = Path(__file__).resolve().parents[2] / "fixtures" / "manifests" / "mnist_v1.json"


def _manifest() -> Manifest:
    spec_in = TensorSpec("input", [-1, 28, 28, 1], "int8", Quantization(0.0039, -128), "image", 0)
    spec_out = TensorSpec("output", [-1, 10], "int8", Quantization(0.00390625, -128), "probs", 9)
    return Manifest(
        model=ModelInfo(
            name="tiny",
            source=Source(path="m.keras", format="keras", sha256="ab"),
            tf_version="2.21.0",
        ),
        inputs=[InputSpec("image", "float32", [-1, 28, 28, 1], "image",
                          Preprocessing(color_mode="L", height=28, width=28))],
        outputs=[OutputSpec("probs", "float32", [-1, 10], "classes", "softmax",
                            [str(i) for i in range(10)])],
        variants={
            "int8": Variant(
                name="int8", file="int8.tflite", size_bytes=10, sha256="cd",
                inputs=[spec_in], outputs=[spec_out],
                evaluation=Evaluation(examples=5, accuracy=0.8, agreement_with_float32=1.0,
                                      mean_latency_ms=0.1),
            )
        },
        default_variant="int8",
        hooks=Hooks("hooks.py", ("bchlib>=2.1,<3",)),
        evaluation_set="eval.npz",
    )


def test_round_trip_through_disk(tmp_path: Path) -> None:
    m = _manifest()
    m.save(tmp_path)
    loaded = Manifest.load(tmp_path)
    assert loaded == m
    assert loaded.variant().inputs[0].quantization.zero_point == -128
    assert loaded.variant().tensor_for("probs", outputs=True) == m.variant().outputs[0]


def test_an_api_path_is_kept_and_none_is_not_written(tmp_path: Path) -> None:
    m = _manifest()
    assert m.api_path is None and "api_path" not in m.to_dict()
    m._replace(api_path="/decode").save(tmp_path)
    assert Manifest.load(tmp_path).api_path == "/decode"


def test_only_the_fields_of_a_kind_are_written() -> None:
    data = _manifest().to_dict()
    assert data["schema_version"] == 2
    assert set(data["inputs"][0]) == {"name", "kind", "dtype", "shape", "preprocessing"}
    assert set(data["outputs"][0]) == {"name", "kind", "dtype", "shape", "activation", "labels"}
    tensor = InputSpec("x", "float32", [-1, 4]).to_dict()
    assert "preprocessing" not in tensor and tensor["kind"] == "tensor"
    bits = OutputSpec("decoded", "float32", [-1, 100], "bits").to_dict()
    assert bits["threshold"] == 0.5 and "labels" not in bits


def test_queries_by_name_and_the_classifier_output() -> None:
    m = _manifest()
    assert m.input("image").kind == "image" and m.image_input is m.inputs[0]
    assert m.preprocessing == m.inputs[0].preprocessing
    assert m.classifier_output is m.outputs[0]
    with pytest.raises(ModelError, match=r"no output 'logits' \(it has: probs\)"):
        m.output("logits")
    two = Manifest(m.model, m.inputs, [*m.outputs, OutputSpec("aux", "float32", [-1, 2])],
                   m.variants)
    assert two.classifier_output is None
    tensors = Manifest(m.model, [InputSpec("x", "float32", [-1, 4])], m.outputs, m.variants)
    assert tensors.image_input is None and tensors.preprocessing is None


def test_a_version_1_manifest_is_upgraded_in_memory() -> None:
    m = Manifest.from_dict(json.loads(V1_MNIST.read_text()))
    (image,) = m.inputs
    (classes,) = m.outputs
    assert (image.name, image.kind, image.dtype, image.shape) == (
        "image", "image", "float32", [-1, 28, 28, 1])
    assert image.preprocessing == Preprocessing("L", 28, 28, "bilinear", 1 / 255, 0.0, "NHWC")
    assert (classes.name, classes.kind, classes.activation) == ("output_0", "classes", "softmax")
    assert classes.labels == [str(d) for d in range(10)]
    int8 = m.variants["int8"]
    assert int8.inputs[0].logical == "image" and int8.inputs[0].dtype == "int8"
    assert int8.outputs[0].logical == "output_0" and int8.outputs[0].index == -1
    assert m.hooks is None and m.evaluation_set is None and m.model.tf_version == "2.21.0"
    assert m.to_dict()["schema_version"] == 2  # written back as version 2


def test_a_fixed_batch_of_one_is_any_number_of_rows() -> None:
    assert logical_shape([1, 28, 28, 1]) == [-1, 28, 28, 1]
    assert logical_shape([8, 16]) == [8, 16]
    assert logical_shape([1]) == [1]  # no batch dimension to free


def test_unknown_variant_names_the_ones_present() -> None:
    with pytest.raises(ModelError, match="it has: int8"):
        _manifest().variant("float16")


def test_wrong_schema_version_is_a_clear_error(tmp_path: Path) -> None:
    data = _manifest().to_dict()
    data["schema_version"] = 99
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="schema_version 99 is not supported.*reads 1 and 2"):
        Manifest.load(tmp_path)


@pytest.mark.parametrize("breakage", ["drop_model", "bad_variant", "bad_input", "not_json",
                                      "not_object"])
def test_malformed_manifest_is_a_model_error(tmp_path: Path, breakage: str) -> None:
    data = _manifest().to_dict()
    if breakage == "drop_model":
        del data["model"]
        text = json.dumps(data)
    elif breakage == "bad_variant":
        data["variants"]["int8"]["inputs"] = [{"shape": [1]}]
        text = json.dumps(data)
    elif breakage == "bad_input":
        data["inputs"] = [{"kind": "image"}]
        text = json.dumps(data)
    elif breakage == "not_object":
        text = "[]"
    else:
        text = "{not json"
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ModelError):
        Manifest.load(tmp_path)


def test_missing_manifest_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="lambdalite convert"):
        Manifest.load(tmp_path)
