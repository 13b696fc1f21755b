"""The no-op floor: INIT imports nothing but this module; each call returns 1."""

from typing import Any


def handler(event: Any, context: Any) -> int:
    return 1
