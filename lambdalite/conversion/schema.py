"""The manifest's JSON Schema (``lambdalite/schemas/manifest.schema.json``) and its check.

``convert`` and ``evaluate`` validate every manifest before they write it, so a
manifest on disk always matches the documented schema (docs/CONVERT.md). The
Lambda function does not import this module (jsonschema is not in its package).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from lambdalite.errors import ModelError
from lambdalite.manifest import SCHEMA_VERSION, Manifest

SCHEMA_FILE = "manifest.schema.json"


@cache
def manifest_schema() -> dict[str, Any]:
    text = resources.files("lambdalite").joinpath("schemas", SCHEMA_FILE).read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_errors(data: dict[str, Any]) -> list[str]:
    """Every violation as "<json path>: <message>", empty when ``data`` is valid."""
    import jsonschema  # deferred: only convert/evaluate/tests validate

    validator = jsonschema.Draft202012Validator(manifest_schema())
    return [
        f"{e.json_path}: {e.message}"
        for e in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]


def validate_manifest(manifest: Manifest | dict[str, Any]) -> None:
    """Raise ``ModelError`` listing what breaks schema version ``SCHEMA_VERSION``."""
    data = manifest.to_dict() if isinstance(manifest, Manifest) else manifest
    errors = schema_errors(data)
    if errors:
        shown = "; ".join(errors[:5]) + (
            f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        )
        raise ModelError(
            f"manifest does not match schema version {SCHEMA_VERSION}: {shown}; "
            "this is a lambdalite bug if `lambdalite convert` wrote it, else fix the file"
        )
