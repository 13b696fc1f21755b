"""Warm-up costs no inference; logs and EMF metrics carry request id, cold start, latencies."""

from __future__ import annotations

import json
import os


def lines(out):
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_warmup_never_runs_inference(counting_app, served, load_event, context):
    app, backend, _ = counting_app
    assert app(load_event("scheduled_event.json"), context) == {"warmup": True}
    assert app(load_event("warmup.json"), context) == {"warmup": True}
    http = app(
        load_event("http_api_v2.json", body=json.dumps({"warmup": True}), isBase64Encoded=False),
        None,
    )
    assert http["statusCode"] == 200 and json.loads(http["body"]) == {"warmup": True}
    assert backend.calls == 0
    app({"image": served.samples[0].b64}, context)
    assert backend.calls == 1


def test_cold_start_flag_request_id_and_metrics(counting_app, served, context):
    app, _, out = counting_app
    sample = served.samples[0]
    app({"image": sample.b64}, context)
    app({"image": sample.b64}, type(context)("req-2"))
    records = lines(out)
    init = records[0]
    assert init["message"] == "init" and init["backend"] == "litert"
    logs = [r for r in records if r.get("message") == "prediction"]
    assert [(r["request_id"], r["cold_start"]) for r in logs] == [("req-1", True), ("req-2", False)]
    emf = [r for r in records if "_aws" in r]
    assert len(emf) == 2
    names = [{m["Name"] for m in r["_aws"]["CloudWatchMetrics"][0]["Metrics"]} for r in emf]
    assert names[0] == {"ColdStart", "InferenceLatency", "PreprocessingLatency", "Images"}
    assert names[1] == {"InferenceLatency", "PreprocessingLatency", "Images"}
    assert emf[0]["ColdStart"] == 1 and emf[0]["InferenceLatency"] >= 0.0


def test_xnnpack_is_applied_and_model_is_memory_mapped(counting_app, served):
    import sys
    from pathlib import Path

    app, backend, _ = counting_app
    facts = backend.describe()
    assert facts["xnnpack"] is True and facts["delegated_nodes"] > 0
    maps = Path("/proc/self/maps")
    if sys.platform.startswith("linux") and maps.exists():
        model_file = os.path.realpath(backend.inner.model_path)
        assert model_file in maps.read_text(), "model_path should be mmap'ed, not read into memory"
