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


def test_snapstart_lifecycle_warms_before_the_snapshot_and_reseeds_after_restore(served,
                                                                                 repo_root):
    """The local engine's SnapStart lifecycle (awslambdaric runs snapshot_restore_py's hooks):
    the function's warm-up runs at before-snapshot, its re-seed at after-restore, in order."""
    engine_mod = pytest.importorskip("lambdalite.local.engine")
    from lambdalite.local.engine_types import FunctionSpec

    spec = FunctionSpec(
        name="Snap", handler="lambdalite.function.handler.lambda_handler", code_dir=repo_root,
        runtime="python3.11", memory_mb=1024, timeout_s=60,
        environment={"LAMBDALITE_MODEL_DIR": str(served.model_dir)}, snap_start=True)
    engine = engine_mod.LocalLambda({"Snap": spec})
    try:
        sample = served.samples[0]
        result = engine.invoke("Snap", json.dumps({"image": sample.b64}).encode())
        assert json.loads(result.payload) == {"predicted_label": sample.label}
        assert result.report.restore_duration_ms is not None
        records = [json.loads(line) for line in result.logs.splitlines() if line.startswith("{")]
        messages = [r.get("message") for r in records if "message" in r]
        assert messages[:4] == ["init", "before snapshot", "restored from snapshot", "prediction"]
        init = records[messages.index("init")]
        assert init["warmup"] == "before snapshot (auto: SnapStart)"
        assert isinstance(next(r for r in records if r.get("message") == "before snapshot")
                          ["warmup_ms"], float)
    finally:
        engine.close()
