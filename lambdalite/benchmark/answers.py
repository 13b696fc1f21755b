"""Do two runs answer alike? The emulated arm64 run's response against the x86_64 run's.

Not ``==`` on floats: LiteRT's arm64 and x86_64 kernels round differently (measured: float32
and float16 outputs differ by up to 1.2e-7, dynamic-range ones by up to 2.8e-4 on a large conv
model; int8 outputs are bit-identical). Labels, strings, integers and booleans must be equal,
floats close (``RTOL``, ``ATOL``); an API Gateway response's JSON ``body`` is compared as JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

RTOL = 1e-3
ATOL = 1e-5


def difference(expected: bytes, got: bytes) -> str | None:
    """None when the answers agree; else where they first differ, in a few words."""
    return _compare(_load(expected), _load(got), "response")


def _load(payload: bytes) -> Any:
    try:
        return _unwrap(json.loads(payload))
    except ValueError:
        return payload.decode("utf-8", "replace")


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("body"), str):
        try:
            return {**value, "body": _unwrap(json.loads(value["body"]))}
        except ValueError:
            return value
    return value


def _compare(a: Any, b: Any, where: str) -> str | None:
    if isinstance(a, bool) or isinstance(b, bool) or not (
            isinstance(a, int | float) and isinstance(b, int | float)):
        if isinstance(a, dict) and isinstance(b, dict):
            if a.keys() != b.keys():
                return f"{where} has keys {sorted(b)} instead of {sorted(a)}"
            return next((d for k in a if (d := _compare(a[k], b[k], f"{where}.{k}"))), None)
        if isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return f"{where} has {len(b)} items instead of {len(a)}"
            return next((d for i, (x, y) in enumerate(zip(a, b, strict=True))
                         if (d := _compare(x, y, f"{where}[{i}]"))), None)
        return None if a == b and type(a) is type(b) else f"{where} is {b!r}, not {a!r}"
    if isinstance(a, int) and isinstance(b, int):
        return None if a == b else f"{where} is {b}, not {a}"
    if math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL):
        return None
    return f"{where} is {b!r}, not {a!r} (beyond rtol {RTOL:g}, atol {ATOL:g})"
