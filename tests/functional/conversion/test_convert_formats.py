"""Every input format -> all four variants: valid manifest, runs in LiteRT, agrees with the source."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lambdalite.conversion.evaluate import predict
from lambdalite.conversion.schema import schema_errors
from lambdalite.manifest import VARIANTS, Manifest

from .conftest import (
    FORMATS,
    SIDE,
    SOURCE_FORMAT,
    TF1_TAGS,
    Conversions,
    Tiny,
    convert_cli,
    load_manifest,
)

pytestmark = pytest.mark.tf


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_makes_all_four_variants_and_a_valid_manifest(
    converted: Conversions, tiny: Tiny, fmt: str
) -> None:
    out = converted(fmt)
    data = load_manifest(out)
    assert schema_errors(data) == []
    assert data["model"]["source"]["format"] == SOURCE_FORMAT.get(fmt, fmt)
    assert list(data["variants"]) == list(VARIANTS)
    (image,) = data["inputs"]
    assert image["kind"] == "image"
    assert image["preprocessing"] == {
        "color_mode": "L",
        "height": SIDE,
        "width": SIDE,
        "resize_filter": "bilinear",
        "scale": pytest.approx(1 / 255),
        "offset": 0.0,
        "layout": "NHWC",
    }
    (probs,) = data["outputs"]
    assert (probs["kind"], probs["activation"]) == ("classes", "softmax")  # the graph's last op
    for name, v in data["variants"].items():
        blob = (out / v["file"]).read_bytes()
        assert v["file"] == f"{name}.tflite"
        assert v["size_bytes"] == len(blob)
        assert v["sha256"] == hashlib.sha256(blob).hexdigest()
        assert v["inputs"][0]["shape"][1:] == [SIDE, SIDE, 1]
        assert v["outputs"][0]["shape"][-1] == 4
    sizes = {n: v["size_bytes"] for n, v in data["variants"].items()}
    # Dynamic-range quantization leaves tensors under 1024 elements alone: the tiny model's are.
    assert sizes["dynamic"] <= sizes["float32"]
    assert sizes["float16"] < sizes["float32"] and sizes["int8"] < sizes["float32"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_variant_runs_in_litert_and_agrees_with_the_original(
    converted: Conversions, tiny: Tiny, fmt: str
) -> None:
    out = converted(fmt)
    manifest = Manifest.load(out)
    x01 = tiny.x_eval.astype(np.float32) / 255.0
    expected = tiny.reference[fmt](x01)
    top1 = expected.argmax(axis=1)
    assert np.mean(top1 == tiny.y_eval) > 0.9  # the tiny model itself is good
    for name, variant in manifest.variants.items():
        got, seconds = predict(out / variant.file, x01)
        agreement = float(np.mean(got == top1))
        assert agreement >= (1.0 if name in ("float32", "float16") else 0.95), (name, agreement)
        assert seconds > 0


def test_float32_outputs_match_the_original_numerically(converted: Conversions, tiny: Tiny) -> None:
    from ai_edge_litert.interpreter import Interpreter

    out = converted("keras")
    it = Interpreter(model_path=str(out / "float32.tflite"))
    inp, outp = it.get_input_details()[0], it.get_output_details()[0]
    x01 = tiny.x_eval[:8].astype(np.float32) / 255.0
    it.resize_tensor_input(inp["index"], list(x01.shape))
    it.allocate_tensors()
    it.set_tensor(inp["index"], x01)
    it.invoke()
    np.testing.assert_allclose(
        it.get_tensor(outp["index"]), tiny.reference["keras"](x01), atol=1e-5
    )


def test_int8_quantization_parameters(converted: Conversions) -> None:
    v = load_manifest(converted("saved_model_tf2"))["variants"]["int8"]
    (inp,), (outp,) = v["inputs"], v["outputs"]
    assert (inp["dtype"], outp["dtype"]) == ("int8", "int8")
    # Calibration inputs span 0..1 (pixels * 1/255): 256 int8 steps over that range.
    assert inp["quantization"]["scale"] == pytest.approx(1 / 255, rel=0.02)
    assert inp["quantization"]["zero_point"] == -128
    # A softmax output in int8 is always scale 1/256, zero point -128.
    assert outp["quantization"] == {"scale": 1 / 256, "zero_point": -128}
    for name in ("float32", "dynamic", "float16"):
        assert load_manifest(converted("saved_model_tf2"))["variants"][name]["inputs"][0][
            "quantization"
        ] == {"scale": 0.0, "zero_point": 0}


def test_uint8_io_for_int8(tiny: Tiny, tmp_path: Path) -> None:
    out = tmp_path / "u8"
    code = convert_cli(
        str(tiny.sources["keras"]),
        "--out",
        str(out),
        "--variants",
        "int8",
        "--int8-io",
        "uint8",
        "--calibration",
        str(tiny.calibration),
    )
    assert code == 0
    v = load_manifest(out)["variants"]
    assert list(v) == ["int8"]
    assert v["int8"]["inputs"][0]["dtype"] == "uint8"
    assert v["int8"]["inputs"][0]["quantization"]["zero_point"] == 0
    assert v["int8"]["outputs"][0]["quantization"] == {"scale": 1 / 256, "zero_point": 0}
    got, _ = predict(out / "int8.tflite", tiny.x_eval.astype(np.float32) / 255.0)
    assert np.mean(got == tiny.y_eval) > 0.9


def test_tf1_signature_selects_what_is_converted(converted: Conversions, tiny: Tiny,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "logits"
    source = str(tiny.sources["saved_model_tf1"])
    tags = ",".join(TF1_TAGS)
    code = convert_cli(source, "--out", str(out), "--variants", "float32", "--tags", tags,
                       "--signature", "logits")  # fmt: skip
    assert code == 0
    data = load_manifest(out)
    assert data["model"]["source"]["format"] == "saved_model_tf1"
    # The "logits" signature ends in an add, the "classify" one in a softmax.
    assert data["outputs"][0]["activation"] == "none"
    # the default signature, "classify" (converted here if no test did it before this one)
    assert load_manifest(converted("saved_model_tf1"))["outputs"][0]["activation"] == "softmax"


def test_keras_labels_and_kept_model(converted: Conversions, tiny: Tiny) -> None:
    out = converted("keras")
    data: dict[str, Any] = load_manifest(out)
    assert data["outputs"][0]["labels"] == ["top", "upper", "lower", "bottom"]
    assert data["model"]["tf_model"] == "tiny.keras"
    assert (out / "tiny.keras").read_bytes() == tiny.sources["keras"].read_bytes()
    assert (
        data["model"]["source"]["sha256"]
        == hashlib.sha256(tiny.sources["keras"].read_bytes()).hexdigest()
    )
