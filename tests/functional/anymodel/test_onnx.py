"""``convert --onnx`` and the onnxruntime backend: the ONNX files of Keras and SavedModel models
(one input of any length, several inputs, several outputs, an image classifier) carry the
manifest's logical names, answer as the Keras model and the LiteRT backend do, refuse a bad
tensor with the same 400, and serve under the real awslambdaric."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lambdalite.conversion.pipeline import convert
from lambdalite.conversion.plan import ConvertOptions
from lambdalite.conversion.schema import validate_manifest
from lambdalite.errors import ModelError
from lambdalite.function.config import BackendName
from lambdalite.function.errors import InvalidInput
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec
from lambdalite.manifest import Manifest

from .conftest import OPTIONS, Built, Models

pytest.importorskip("onnxruntime")
pytestmark = [pytest.mark.tf, pytest.mark.timeout(600)]
RNG = np.random.default_rng(17)
ONNX = BackendName.ONNXRUNTIME


@pytest.fixture(scope="module")
def onnx_of(models: Models, tmp_path_factory: pytest.TempPathFactory
            ) -> Callable[[str], tuple[Built, Path]]:
    """name -> (the Keras model, its folder converted with --onnx), each made once."""
    done: dict[str, tuple[Built, Path]] = {}

    def make(name: str) -> tuple[Built, Path]:
        if name not in done:
            built = models(name)
            out = tmp_path_factory.mktemp(f"onnx-{name}")
            convert(ConvertOptions(model=built.source, out=out, variants=("float32",),
                                   onnx=True, **OPTIONS.get(name, {})))
            done[name] = (built, out)
        return done[name]

    return make


def test_the_manifest_records_both_onnx_files_under_the_models_names(onnx_of) -> None:
    _, out = onnx_of("multi_in")
    manifest = Manifest.load(out)
    validate_manifest(manifest)
    assert set(manifest.variants) == {"float32", "onnx_float32", "onnx_dynamic"}
    assert manifest.default_variant == "float32"
    for name, file in (("onnx_float32", "model.onnx"), ("onnx_dynamic", "model_dynamic.onnx")):
        variant = manifest.variants[name]
        assert (variant.format, variant.file) == ("onnx", file)
        assert (out / file).is_file() and variant.size_bytes == (out / file).stat().st_size
        assert {t.logical for t in variant.inputs} == {"pixels", "meta", "category"}
        assert {t.dtype for t in variant.inputs if t.logical == "category"} == {"int32"}
    # a tflite entry is written as before (no "format"), so older readers read the file
    assert "format" not in json.loads((out / "manifest.json").read_text())["variants"]["float32"]


def test_several_inputs_answer_as_keras_and_litert(onnx_of, serve) -> None:
    built, out = onnx_of("multi_in")
    pixels = RNG.random((3, 12, 12, 1), dtype=np.float32)
    meta = RNG.normal(size=(3, 4)).astype(np.float32)
    category = np.array([[1], [4], [9]], np.int32)
    request = {"inputs": {"pixels": pixels.tolist(), "meta": meta.tolist(),
                          "category": category.tolist()}}
    want = built.keras({"pixels": pixels, "meta": meta, "category": category})["output_0"]
    litert = serve(out)(request)
    for variant in (None, "float32", "onnx_dynamic"):
        app = serve(out, backend=ONNX, variant=variant)
        got = app(request)
        if variant != "onnx_dynamic":  # the float32 twin: the same answer as LiteRT's
            assert got == litert
        assert [p["predicted_label"] for p in got["predictions"]] == want.argmax(1).tolist()


def test_several_outputs_by_kind_and_a_free_length(onnx_of, serve) -> None:
    built, out = onnx_of("multi_out")
    x = RNG.normal(size=(4, 6)).astype(np.float32)
    want = built.keras({"x": x})
    got = serve(out, backend=ONNX)({"inputs": x.tolist()})["outputs"]
    assert set(got) == {"probs", "flags", "embedding"}
    np.testing.assert_allclose(np.array(got["embedding"]), want["embedding"], atol=1e-5)
    assert got["flags"] == (want["flags"] > 0.5).astype(int).tolist()
    assert [p["index"] for p in got["probs"]] == want["probs"].argmax(axis=1).tolist()
    dynamic = serve(out, backend=ONNX, variant="dynamic")({"inputs": x.tolist()})["outputs"]
    np.testing.assert_allclose(np.array(dynamic["embedding"]), want["embedding"], atol=0.1)

    built, out = onnx_of("signal")  # a free length: no resize, ONNX Runtime takes it as sent
    app = serve(out, backend=ONNX)
    for length in (5, 40):
        signal = RNG.normal(size=(2, length, 1)).astype(np.float32)
        want_top = built.keras({"signal": signal})["output_0"].argmax(1).tolist()
        answer = app({"inputs": signal.tolist()})
        assert [p["predicted_label"] for p in answer["predictions"]] == want_top


def test_the_dynamic_twin_keeps_its_int8_weights_in_7_bits(onnx_of) -> None:
    # x86-64 CPUs without VNNI add two uint8 x int8 products in 16 bits (VPMADDUBSW), which
    # 8-bit weights can saturate: an AVX2 machine answered up to 0.58 off in the test above.
    # 7-bit weights (reduce_range) fit, on every CPU; checked in the file, not by a CPU's luck.
    import onnx
    from onnx import numpy_helper

    _, out = onnx_of("multi_out")
    graph = onnx.load(str(out / "model_dynamic.onnx")).graph
    weights = [numpy_helper.to_array(t) for t in graph.initializer
               if t.data_type == onnx.TensorProto.INT8]
    assert weights, "no int8 weights: the dense layers were not quantized"
    assert max(int(np.abs(w.astype(np.int16)).max()) for w in weights) <= 64
    assert any(int(np.abs(w.astype(np.int16)).max()) > 32 for w in weights)   # 7 bits, not 6



def test_a_bad_tensor_is_the_same_400_on_both_backends(onnx_of, serve) -> None:
    _, out = onnx_of("multi_out")
    messages = []
    for backend in (BackendName.LITERT, ONNX):
        app = serve(out, backend=backend)
        with pytest.raises(InvalidInput) as info:
            app({"inputs": [[1.0] * 5]})
        messages.append(str(info.value))
        http = app({"version": "2.0", "requestContext": {"http": {"method": "POST"},
                                                         "domainName": "x.execute-api.on.aws"},
                    "headers": {"content-type": "application/json"},
                    "body": json.dumps({"inputs": [[float("nan")] * 6]}), "isBase64Encoded": False})
        assert http["statusCode"] == 400
        assert json.loads(http["body"])["error"]["type"] == "InvalidInput"
    assert messages[0] == messages[1] and "takes float32 [-1, 6]" in messages[0]


def test_a_backend_that_cannot_run_the_file_says_which_can(onnx_of, serve) -> None:
    _, out = onnx_of("multi_out")
    with pytest.raises(ModelError, match="onnx_float32 is a .onnx file, which the onnxruntime "
                                         "backend runs, not litert"):
        serve(out, backend=BackendName.LITERT, variant="onnx_float32")
    with pytest.raises(ModelError, match="none for 'float16'.*--onnx"):
        serve(out, backend=ONNX, variant="float16")


def test_a_saved_model_classifier_under_the_real_runtime_client(
        mnist_onnx_dir: Path, repo_root: Path, mnist_model_dir: Path) -> None:
    """Evaluated against float32 like the other variants, then served by awslambdaric."""
    from lambdalite.conversion.pipeline import EvaluateOptions, evaluate

    report = evaluate(EvaluateOptions(model_dir=mnist_onnx_dir, data=mnist_model_dir.parent
                                      / "eval.npz", limit=300, write=True)).report
    scores = {s.variant: s.evaluation for s in report.scores}
    assert set(scores) == {"float32", "onnx_float32", "onnx_dynamic"}
    assert scores["onnx_float32"].agreement_with_float32 == 1.0
    assert scores["onnx_dynamic"].agreement_with_float32 >= 0.98  # type: ignore[operator]
    validate_manifest(Manifest.load(mnist_onnx_dir))  # the evaluations were written back

    digits = sorted((mnist_model_dir.parent / "digits").glob("*.png"))[:4]
    spec = FunctionSpec(
        name="Fn", handler="lambdalite.function.handler.lambda_handler", code_dir=repo_root,
        runtime="python3.11", memory_mb=1024, timeout_s=60,
        environment={"LAMBDALITE_MODEL_DIR": str(mnist_onnx_dir), "LAMBDALITE_BACKEND": "onnxruntime",
                     "LAMBDALITE_VARIANT": "dynamic"},
    )
    logs = []
    with LocalLambda({"Fn": spec}) as engine:
        for digit in digits:
            image = base64.b64encode(digit.read_bytes()).decode()
            result = engine.invoke("Fn", json.dumps({"image": image}).encode())
            logs.append(result.logs)
            assert json.loads(result.payload) == {"predicted_label": int(digit.name[0])}
        bad = engine.invoke("Fn", json.dumps({"image": "not base64!"}).encode())
        assert json.loads(bad.payload)["errorType"] == "InvalidBase64"
    init = next(json.loads(line) for line in logs[0].splitlines() if '"message":"init"' in line)
    assert (init["backend"], init["variant"]) == ("onnxruntime", "onnx_dynamic")


def test_weights_in_a_side_file_serve_and_ship(mnist_onnx_dir: Path, tmp_path: Path,
                                               serve) -> None:
    """What --onnx does with a float32 file of EXTERNAL_DATA_BYTES or more (the large model),
    forced here on the MNIST file: the same answers, and the build copies both files."""
    import shutil

    from lambdalite.bundle.package import copy_model
    from lambdalite.conversion.onnx_export import externalize, onnx_record

    folder = tmp_path / "model"
    shutil.copytree(mnist_onnx_dir, folder)
    data = externalize(folder / "model.onnx", threshold=0)
    assert data == "model.onnx.data" and (folder / data).stat().st_size > 400_000
    assert (folder / "model.onnx").stat().st_size < 50_000  # the graph alone
    manifest = Manifest.load(folder)
    whole = manifest.variants["onnx_float32"]
    record = onnx_record("onnx_float32", folder / "model.onnx", data)
    manifest = manifest.with_variant(record._replace(inputs=whole.inputs,
                                                         outputs=whole.outputs))
    validate_manifest(manifest)
    manifest.save(folder)
    assert Manifest.load(folder).variants["onnx_float32"].files == ("model.onnx", data)

    digits = sorted((Path(__file__).parents[3] / "lambdalite/examples/mnist/digits").glob("*.png"))
    images = [base64.b64encode(p.read_bytes()).decode() for p in digits[:6]]
    assert serve(folder, backend=ONNX)({"images": images}) == serve(
        mnist_onnx_dir, backend=ONNX)({"images": images})
    shipped = copy_model(folder, tmp_path / "task", None, "onnxruntime")
    assert sorted(p.name for p in (tmp_path / "task" / "model").iterdir()) == [
        "manifest.json", "model.onnx", data]
    assert shipped.variants["onnx_float32"].external_data == data
