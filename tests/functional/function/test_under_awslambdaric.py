"""The handler under the real ``python -m awslambdaric`` (through lambdalite's local engine):
nothing in the function assumes it runs in the test's process."""

from __future__ import annotations

import json

import pytest


def test_handler_runs_under_the_real_runtime_client(served, load_event, repo_root):
    engine_mod = pytest.importorskip("lambdalite.local.engine")
    from lambdalite.local.engine_types import FunctionSpec

    spec = FunctionSpec(
        name="Fn",
        handler="lambdalite.function.handler.lambda_handler",
        code_dir=repo_root,
        runtime="python3.11",
        memory_mb=1024,
        timeout_s=60,
        environment={"LAMBDALITE_MODEL_DIR": str(served.model_dir)},
    )
    engine = engine_mod.LocalLambda({"Fn": spec})
    try:
        sample = served.samples[0]
        event = load_event("apigw_rest_v1.json", body=sample.b64)
        ok = json.loads(engine.invoke("Fn", json.dumps(event).encode()).payload)
        assert ok["statusCode"] == 200 and json.loads(ok["body"]) == {
            "predicted_label": sample.label
        }
        warm = engine.invoke("Fn", json.dumps({"warmup": True}).encode())
        assert json.loads(warm.payload) == {"warmup": True}
        bad = json.loads(engine.invoke("Fn", b'{"image": "!!"}').payload)
        assert bad["errorType"] == "InvalidBase64" and "base64" in bad["errorMessage"]
        again = json.loads(engine.invoke("Fn", json.dumps({"image": sample.b64}).encode()).payload)
        assert again == {"predicted_label": sample.label}
    finally:
        engine.close()
