"""The function on Python 3.9 with tflite-runtime 2.7.0 (the write-up's runtime): a package
built through bundle for python3.9 (its pip, glibc and size checks), run by the local Lambda
under pyenv's 3.9 with awslambdaric 4.0.4, answers as the function does on LiteRT in this
process. Skipped where this machine has no Python 3.9 with awslambdaric."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from lambdalite import envvars
from lambdalite.bundle.api import PackageOptions, build_package
from lambdalite.examples import mnist_example
from lambdalite.local.engine import LocalLambda, runtime_warning
from lambdalite.local.engine_types import FunctionSpec

from .conftest import Models

RUNTIME = "python3.9"
PACKAGE = "tflite-runtime==2.7.0"
RNG = np.random.default_rng(39)

pytestmark = pytest.mark.skipif(runtime_warning(RUNTIME) is not None,
                                reason=f"no Python 3.9 with awslambdaric here: "
                                       f"{runtime_warning(RUNTIME)}")


def build(model_dir: Path, out: Path, variant: str = "float32"):
    return build_package(PackageOptions(model_dir=model_dir, out_dir=out, variant=variant,
                                        runtime=RUNTIME, litert_package=PACKAGE))


def invoke(task_root: Path, event: dict) -> dict:
    result = invoke_raw(task_root, event)
    assert result.function_error is None, result.payload[-2000:]
    return json.loads(result.payload)


def invoke_raw(task_root: Path, event: dict):
    spec = FunctionSpec(name="Peer", handler="lambdalite.function.handler.lambda_handler",
                        code_dir=task_root.resolve(), runtime=RUNTIME, memory_mb=1024,
                        timeout_s=30.0, environment={envvars.BACKEND: "litert"})
    engine = LocalLambda({"Peer": spec}, concurrency=1)
    try:
        assert engine.warnings == []          # its own Python 3.9, not the host's
        return engine.invoke("Peer", json.dumps(event).encode())
    finally:
        engine.close()


@pytest.fixture(scope="module")
def mnist_package(tmp_path_factory):
    return build(mnist_example() / "model", tmp_path_factory.mktemp("peer-mnist"))


def test_the_peer_package_passes_the_checks_for_python39(mnist_package) -> None:
    pins = dict(p.split("==") for p in mnist_package.installed)
    assert pins["tflite-runtime"] == "2.7.0"
    assert pins["numpy"].startswith("1.")          # 2.7.0 is compiled against NumPy 1.x
    assert "ai-edge-litert" not in pins
    assert not (mnist_package.task_root / "ai_edge_litert").exists()
    assert mnist_package.glibc_available == "2.26"                  # Amazon Linux 2
    needed = tuple(int(p) for p in (mnist_package.glibc_needed or "0.0").split("."))
    assert needed <= (2, 26)
    assert any("python3.9 is deprecated on AWS Lambda" in w for w in mnist_package.warnings)
    assert list(mnist_package.task_root.rglob("*.cpython-39.pyc"))  # compiled for 3.9


def test_mnist_under_python39_answers_like_litert(mnist_package, serve) -> None:
    digits = sorted((mnist_example() / "digits").glob("*.png"))[:16]
    images = [base64.b64encode(p.read_bytes()).decode() for p in digits]
    event = {"images": images, "top_k": 3}
    got = invoke(mnist_package.task_root, event)
    want = serve(mnist_package.task_root / "model")(event, None)
    assert [p["predicted_label"] for p in got["predictions"]] == [
        p["predicted_label"] for p in want["predictions"]]
    assert [p["predicted_label"] for p in got["predictions"]] == [
        int(p.name[0]) for p in digits]
    for a, b in zip(got["predictions"], want["predictions"], strict=True):
        assert [r["index"] for r in a["top_k"]] == [r["index"] for r in b["top_k"]]
        np.testing.assert_allclose([r["probability"] for r in a["top_k"]],
                                   [r["probability"] for r in b["top_k"]], atol=1e-4)


def test_a_tensor_model_under_python39_answers_like_litert(models: Models, serve,
                                                           tmp_path: Path) -> None:
    built = models("multi_out")
    package = build(built.out, tmp_path)
    x = RNG.normal(size=(3, 6)).astype(np.float32)
    event = {"inputs": x.tolist(), "top_k": 2}
    got = invoke(package.task_root, event)["outputs"]
    want = serve(built.out)(event, None)["outputs"]
    assert got["flags"] == want["flags"]
    np.testing.assert_allclose(got["embedding"], want["embedding"], atol=1e-5)
    assert [[r["index"] for r in row] for row in got["probs"]] == [
        [r["index"] for r in row] for row in want["probs"]]


def test_todays_dynamic_file_fails_init_on_27_and_says_what_to_do(tmp_path: Path) -> None:
    """TF 2.21's dynamic file has a per-channel dense layer (FULLY_CONNECTED v12): 2.7.0 cannot
    load it, and the function's error names the conversion option that makes one it can."""
    package = build(mnist_example() / "model", tmp_path, variant="dynamic")
    digit = sorted((mnist_example() / "digits").glob("*.png"))[0]
    result = invoke_raw(package.task_root, {"image": base64.b64encode(digit.read_bytes()).decode()})
    assert result.function_error is not None
    text = result.payload.decode()
    assert "tflite_runtime could not load" in text and "FULLY_CONNECTED" in text
    assert "convert with --dense-per-tensor" in text
