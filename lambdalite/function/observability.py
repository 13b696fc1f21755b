"""Structured JSON logs and CloudWatch Embedded Metric Format (EMF), standard library only.

Why not aws-lambda-powertools: see docs/FUNCTION.md (measured import cost, package size,
and the function's import rule). The output is the same shape Powertools emits:
one JSON object per line on stdout, which Lambda forwards to CloudWatch Logs, where
lines carrying an ``_aws`` key become metrics.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TextIO

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
# EMF units (CloudWatch MetricDatum.Unit values).
MILLISECONDS = "Milliseconds"
COUNT = "Count"


def _write(stream: TextIO | None, doc: Mapping[str, Any]) -> None:
    # Resolve sys.stdout at write time: awslambdaric replaces it after import.
    out = stream if stream is not None else sys.stdout
    out.write(json.dumps(doc, default=str, separators=(",", ":")) + "\n")
    out.flush()


class JsonLogger:
    """One JSON object per line; ``bind`` adds fields (request id, cold start) to every line."""

    def __init__(
        self,
        level: str = "INFO",
        stream: TextIO | None = None,
        **static: Any,
    ) -> None:
        self.level = LEVELS[level]
        self.stream = stream
        self.static = dict(static)
        self.bound: dict[str, Any] = {}

    def bind(self, **fields: Any) -> None:
        self.bound = dict(fields)

    def log(self, level: str, message: str, **fields: Any) -> None:
        if LEVELS[level] < self.level:
            return
        doc = {
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "level": level,
            "message": message,
            **self.static,
            **self.bound,
            **fields,
        }
        _write(self.stream, doc)

    def debug(self, message: str, **fields: Any) -> None:
        self.log("DEBUG", message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log("INFO", message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log("WARNING", message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log("ERROR", message, **fields)


def emf_document(
    namespace: str,
    dimensions: Mapping[str, str],
    metrics: Mapping[str, tuple[float, str]],
    properties: Mapping[str, Any] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """An EMF log event: metric values and dimension values are top-level members."""
    ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    doc: dict[str, Any] = {
        "_aws": {
            "Timestamp": ts,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": n, "Unit": unit} for n, (_, unit) in metrics.items()],
                }
            ],
        },
        **dict(properties or {}),
        **dimensions,
    }
    for name, (value, _) in metrics.items():
        doc[name] = value
    return doc


class MetricsSink:
    """Writes one EMF line per invocation."""

    def __init__(
        self, namespace: str, dimensions: Mapping[str, str], stream: TextIO | None = None
    ) -> None:
        self.namespace = namespace
        self.dimensions = dict(dimensions)
        self.stream = stream

    def emit(
        self, metrics: Mapping[str, tuple[float, str]], properties: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        doc = emf_document(self.namespace, self.dimensions, metrics, properties)
        _write(self.stream, doc)
        return doc
