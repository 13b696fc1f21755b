"""The pure parts of the runner: which rows run, what each invocation sends, progress units."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from lambdalite.benchmark.config import BenchOptions, config_for
from lambdalite.benchmark.models import make_event
from lambdalite.benchmark.runner import plan_rows, total_units
from lambdalite.errors import UsageError
from lambdalite.manifest import Manifest


@pytest.fixture
def manifest(mnist_model_dir) -> Manifest:
    return Manifest.load(mnist_model_dir)


def test_rows_are_tf_then_every_variant_of_the_manifest(manifest):
    rows, notes = plan_rows(config_for(BenchOptions()), manifest)
    assert [(r.name, r.backend, r.variant) for r in rows] == [
        ("tf", "tf", None), ("float32", "litert", "float32"), ("dynamic", "litert", "dynamic"),
        ("float16", "litert", "float16"), ("int8", "litert", "int8")]
    assert notes == []


def test_rows_follow_the_variants_asked_for(manifest):
    rows, _ = plan_rows(config_for(BenchOptions(variants=("int8", "float32"))), manifest)
    assert [r.name for r in rows] == ["float32", "int8"]


def test_a_model_without_its_tf_original_says_why_there_is_no_tf_row(manifest):
    no_tf = manifest._replace(model=manifest.model._replace(tf_model=None))
    rows, notes = plan_rows(config_for(BenchOptions()), no_tf)
    assert "tf" not in [r.name for r in rows] and "--keep-tf-model" in notes[0]


def test_a_variant_missing_from_the_manifest_is_a_usage_error(manifest):
    only = manifest._replace(variants={"float32": manifest.variants["float32"]})
    with pytest.raises(UsageError, match="dynamic not in the manifest"):
        plan_rows(config_for(BenchOptions(variants=("float32", "dynamic"))), only)


def test_mnist_sends_the_examples_api_gateway_event(manifest, mnist_model_dir):
    event = make_event(mnist_model_dir, manifest)
    body = json.loads(event.payload)
    assert "httpMethod" in body or "body" in body
    assert "API Gateway" in event.label


def test_other_models_get_a_seeded_png_of_their_input_size(manifest, tmp_path):
    image = manifest.inputs[0]
    big = manifest._replace(inputs=[image._replace(preprocessing=(
        image.preprocessing._replace(color_mode="RGB", height=40, width=30)))])
    event = make_event(tmp_path, big)
    image = Image.open(io.BytesIO(base64.b64decode(json.loads(event.payload)["image"])))
    assert image.size == (30, 40) and image.mode == "RGB"
    assert make_event(tmp_path, big).payload == event.payload     # same bytes every run


def test_progress_units_count_builds_and_every_invocation():
    config = config_for(BenchOptions(memory_sizes=(1024, 3008), cold_starts=3, warm=5, warmup=2))
    assert total_units(config, rows=4) == 4 * (1 + 2 * (3 + 2 + 5))


def test_the_runtime_note_names_the_litert_of_the_measured_packages_not_the_hosts():
    from lambdalite.benchmark.results import PackageSize, RowResult
    from lambdalite.benchmark.runner import _installed_version

    def row(x86: str, arm: str) -> RowResult:
        return RowResult("float32", "litert", "float32", 1, None, None, (
            PackageSize("x86_64", "zip", "python3.11", 1, 1, installed=(f"ai-edge-litert=={x86}",)),
            PackageSize("arm64", "zip", "python3.12", 1, 1, installed=(f"ai-edge-litert=={arm}",)),
        ))

    def _litert_version(rows: list[RowResult]) -> str | None:
        return _installed_version(rows, "ai-edge-litert")

    assert _litert_version([row("1.4.0", "2.1.0")]) == "1.4.0"
    assert _litert_version([row("1.4.0", "2.1.0"), row("2.3.0", "2.1.0")]) == "1.4.0, 2.3.0"
    assert _litert_version([]) is None
    assert _installed_version([row("1.4.0", "2.1.0")], "onnxruntime") is None


def _with_onnx(manifest: Manifest) -> Manifest:
    twins = {f"onnx_{v}": manifest.variants[v]._replace(name=f"onnx_{v}",
                                              file=f"{v}.onnx", format="onnx")
             for v in ("float32", "dynamic")}
    return manifest._replace(variants={**manifest.variants, **twins})


def test_onnx_variants_are_rows_of_the_onnxruntime_backend(manifest):
    both = _with_onnx(manifest)
    rows, _ = plan_rows(config_for(BenchOptions()), both)
    assert [(r.name, r.backend) for r in rows][-2:] == [("onnx_float32", "onnxruntime"),
                                                       ("onnx_dynamic", "onnxruntime")]
    rows, _ = plan_rows(config_for(BenchOptions(variants=("onnx_dynamic", "dynamic"))), both)
    assert [(r.name, r.backend, r.variant) for r in rows] == [
        ("dynamic", "litert", "dynamic"), ("onnx_dynamic", "onnxruntime", "onnx_dynamic")]
    # a manifest without them (convert without --onnx) measures what it has
    assert "onnx_float32" not in [r.name for r in plan_rows(config_for(BenchOptions()),
                                                            manifest)[0]]
    with pytest.raises(UsageError, match="onnx_float32 not in the manifest.*convert them"):
        plan_rows(config_for(BenchOptions(variants=("onnx_float32",))), manifest)


def test_an_onnx_rows_arm64_package_is_not_run_emulated_and_says_why(tmp_path):
    from pathlib import Path

    from lambdalite.benchmark.runner import ORT_NOT_EMULATED, Built, Row, measure_emulated
    from lambdalite.progress import SILENT

    config = config_for(BenchOptions(runtime="python3.13", quick=True))
    built = Built(Path(tmp_path), "h.handler", (), arm64_root=Path(tmp_path))
    cell = measure_emulated(config, Row("onnx_dynamic", "onnxruntime", "onnx_dynamic"), built,
                            b"{}", [], SILENT)
    assert (cell.emulated, cell.arch, cell.error) == (True, "arm64", ORT_NOT_EMULATED)
