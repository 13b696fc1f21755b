"""A tensor model under the real ``python -m awslambdaric`` (lambdalite's local Lambda), invoked
directly and through the local HTTP API with a raw ``.npy`` body."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import EventSource, FunctionSpec
from lambdalite.local.http_api import HttpAPI

from .conftest import Models, npy_b64

pytestmark = [pytest.mark.tf, pytest.mark.timeout(300)]


def test_a_tabular_model_through_the_runtime_client_and_http(models: Models,
                                                             repo_root: Path) -> None:
    built = models("tabular")
    spec = FunctionSpec(
        name="Fn", handler="lambdalite.function.handler.lambda_handler", code_dir=repo_root,
        runtime="python3.11", memory_mb=1024, timeout_s=60,
        environment={"LAMBDALITE_MODEL_DIR": str(built.out)},
        events=(EventSource("Predict", "HttpApi", "/predict", "POST", stage="$default",
                            payload_format_version="2.0"),),
    )
    x = np.random.default_rng(2).normal(size=(3, 8)).astype(np.float32)
    want = built.keras({"features": x})["output_0"]
    with LocalLambda({"Fn": spec}) as engine:
        for request in ({"inputs": x.tolist()}, {"inputs": {"features": {"npy": npy_b64(x)}}}):
            result = engine.invoke("Fn", json.dumps(request).encode())
            got = np.array(json.loads(result.payload)["outputs"]["output_0"])
            np.testing.assert_allclose(got, want, atol=1e-5)
        bad = engine.invoke("Fn", json.dumps({"inputs": [[1.0, 2.0]]}).encode())
        error = json.loads(bad.payload)
        assert bad.function_error == "Unhandled" and error["errorType"] == "InvalidInput"
        assert "the input features takes float32 [-1, 8]" in error["errorMessage"]
        with HttpAPI(engine, port=0, integration_timeout_s=30.0).start() as server:
            buf = io.BytesIO()
            np.save(buf, x)
            request = urllib.request.Request(
                f"{server.url}/predict", data=buf.getvalue(), method="POST",
                headers={"Content-Type": "application/x-npy"})
            with urllib.request.urlopen(request, timeout=60) as response:
                body = json.loads(response.read())
            np.testing.assert_allclose(np.array(body["outputs"]["output_0"]), want, atol=1e-5)
            wrong = urllib.request.Request(
                f"{server.url}/predict", data=json.dumps({"inputs": [[1.0]]}).encode(),
                method="POST", headers={"Content-Type": "application/json"})
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(wrong, timeout=60)
            assert info.value.code == 400
            assert json.loads(info.value.read())["error"]["type"] == "InvalidInput"
