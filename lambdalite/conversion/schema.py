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
    errors = schema_errors(data) or consistency_errors(data)
    if errors:
        shown = "; ".join(errors[:5]) + (
            f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        )
        raise ModelError(
            f"manifest does not match schema version {SCHEMA_VERSION}: {shown}; "
            "this is a lambdalite bug if `lambdalite convert` wrote it, else fix the file"
        )


def consistency_errors(data: dict[str, Any]) -> list[str]:
    """What the JSON Schema cannot say: every variant carries every input and output (by
    logical name, once), labels match their output's classes, the default variant exists."""
    errors = []
    for what in ("inputs", "outputs"):
        names = [t.get("name") for t in data.get(what, [])]
        if len(set(names)) != len(names):
            errors.append(f"$.{what}: names must be unique (got {names})")
        for key, variant in data.get("variants", {}).items():
            logical = [t.get("logical") for t in variant.get(what, [])]
            for name in names:
                if logical.count(name) != 1:
                    errors.append(f"$.variants.{key}.{what}: variant {key} has no tensor for "
                                  f"{what[:-1]} {name} (it has {logical})")
    for i, out in enumerate(data.get("outputs", [])):
        labels, shape = out.get("labels"), out.get("shape") or []
        if labels and shape and shape[-1] > 0 and len(labels) != shape[-1]:
            errors.append(f"$.outputs[{i}].labels: output {out.get('name')} has {len(labels)} "
                          f"labels but {shape[-1]} classes")
    default = data.get("default_variant")
    if default not in data.get("variants", {}):
        errors.append(f"$.default_variant: default_variant {default} is not one of the variants "
                      f"({', '.join(data.get('variants', {}))})")
    return errors
