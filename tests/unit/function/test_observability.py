import io
import json

from lambdalite.function.observability import (
    COUNT,
    MILLISECONDS,
    JsonLogger,
    MetricsSink,
    emf_document,
)


def test_emf_document_shape():
    doc = emf_document(
        "ns",
        {"FunctionName": "f", "Variant": "int8"},
        {"InferenceLatency": (1.5, MILLISECONDS), "ColdStart": (1, COUNT)},
        {"request_id": "r"},
        timestamp_ms=42,
    )
    assert doc["_aws"] == {
        "Timestamp": 42,
        "CloudWatchMetrics": [
            {
                "Namespace": "ns",
                "Dimensions": [["FunctionName", "Variant"]],
                "Metrics": [
                    {"Name": "InferenceLatency", "Unit": "Milliseconds"},
                    {"Name": "ColdStart", "Unit": "Count"},
                ],
            }
        ],
    }
    assert (doc["FunctionName"], doc["Variant"], doc["InferenceLatency"], doc["ColdStart"]) == (
        "f",
        "int8",
        1.5,
        1,
    )
    assert doc["request_id"] == "r"


def test_metrics_and_logs_are_one_json_object_per_line():
    out = io.StringIO()
    MetricsSink("ns", {"FunctionName": "f"}, out).emit({"Images": (2, COUNT)})
    log = JsonLogger("INFO", out, service="s")
    log.bind(request_id="abc", cold_start=True)
    log.info("hello", n=1)
    log.debug("hidden")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    assert lines[0]["Images"] == 2
    assert lines[1]["message"] == "hello" and lines[1]["request_id"] == "abc"
    assert lines[1]["cold_start"] is True and lines[1]["level"] == "INFO" and lines[1]["n"] == 1
