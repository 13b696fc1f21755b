"""GetFunctionConfiguration and UpdateFunctionConfiguration for ``start-lambda``.

    GET /2015-03-31/functions/{FunctionName}/configuration   -> FunctionConfiguration
    PUT /2015-03-31/functions/{FunctionName}/configuration   {"MemorySize": 1024, ...}

Enough of Lambda's control plane for ``lambdalite bench --remote`` (and AWS Lambda Power
Tuning's way of forcing cold starts) to run against the local Invoke API with boto3: Environment,
MemorySize, Timeout and Description change; every change retires the function's execution
environments, as on AWS, so the next call is a cold start with the new configuration. The
answer to an update says ``LastUpdateStatus: InProgress`` as AWS's does; the change is in effect
by then here, so the next GetFunctionConfiguration (what boto3's ``function_updated`` waiter
polls) says ``Successful``. Shapes, errors and status codes follow the Lambda API reference
(UpdateFunctionConfiguration, FunctionConfiguration).
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from lambdalite.lambda_facts import (
    ENVIRONMENT_LIMIT_BYTES,
    EPHEMERAL_STORAGE_DEFAULT_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    RESERVED_ENVIRONMENT_KEYS,
    TIMEOUT_MAX_S,
)
from lambdalite.local.engine_types import FunctionSpec, LambdaEngine
from lambdalite.local.errors import InvalidParameterValue, InvalidRequestContent, PreconditionFailed
from lambdalite.local.log_lines import LATEST

# What the local Invoke API changes; any other field of UpdateFunctionConfiguration is refused
# by name (it would need a new package or is not emulated).
UPDATABLE = ("Environment", "MemorySize", "Timeout", "Description", "RevisionId")
ROLE = "arn:aws:iam::123456789012:role/lambdalite-local"   # SAM's placeholder account
_ENV_KEY = re.compile(r"^[a-zA-Z]\w+$")   # the API's pattern for environment variable names


@dataclass(frozen=True)
class _Revision:
    revision_id: str
    last_modified: str
    description: str = ""


class FunctionConfigurations:
    """The configuration of every function of ``engine``, and its changes (thread-safe)."""

    def __init__(self, engine: LambdaEngine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._revisions = {name: _Revision(_revision_id(), _now()) for name in engine.functions}

    def get(self, name: str) -> dict[str, Any]:
        """GetFunctionConfiguration of ``name`` (a logical id the engine knows)."""
        with self._lock:
            return self._describe(name, "Successful")

    def update(self, name: str, body: bytes) -> dict[str, Any]:
        """UpdateFunctionConfiguration: check every field, apply them, retire the function's
        environments; the answer is the new configuration, ``InProgress`` as AWS answers."""
        request = _request(body)
        with self._lock:
            current = self._revisions[name]
            wanted = request.get("RevisionId")
            if wanted is not None and wanted != current.revision_id:
                raise PreconditionFailed(
                    "The Revision Id provided does not match the latest Revision Id. Call the "
                    "GetFunction/GetAlias API to retrieve the latest Revision Id")
            spec = _updated(self.engine.functions[name], request)
            description = request.get("Description", current.description)
            if not isinstance(description, str):
                raise InvalidParameterValue("Description must be a string")
            self.engine.reload(name, spec)
            self._revisions[name] = _Revision(_revision_id(), _now(), description)
            return self._describe(name, "InProgress")

    def _describe(self, name: str, status: str) -> dict[str, Any]:
        spec = self.engine.functions[name]
        revision = self._revisions[name]
        config: dict[str, Any] = {
            "FunctionName": name, "FunctionArn": self.engine.arn(name), "Role": ROLE,
            "CodeSize": 0,   # no .zip here: the task root is a folder
            "Description": revision.description,
            "Timeout": max(1, math.ceil(spec.timeout_s)), "MemorySize": spec.memory_mb,
            "LastModified": revision.last_modified, "Version": LATEST,
            "TracingConfig": {"Mode": "PassThrough"}, "RevisionId": revision.revision_id,
            "State": "Active", "LastUpdateStatus": status, "PackageType": spec.package_type,
            "Architectures": [spec.architecture],
            "EphemeralStorage": {"Size": EPHEMERAL_STORAGE_DEFAULT_MB},
        }
        if spec.package_type == "Zip":
            config |= {"Runtime": spec.runtime, "Handler": spec.handler}
        if spec.environment:
            config["Environment"] = {"Variables": dict(spec.environment)}
        return config


def _request(body: bytes) -> dict[str, Any]:
    try:
        request = json.loads(body or b"{}")
    except ValueError as exc:
        raise InvalidRequestContent(f"Could not parse request body into json: {exc}") from None
    if not isinstance(request, dict):
        raise InvalidRequestContent("The request body must be a JSON object")
    other = sorted(set(request) - set(UPDATABLE))
    if other:
        raise InvalidParameterValue(
            f"lambdalite's local Invoke API does not change {', '.join(other)} (it changes "
            f"{', '.join(UPDATABLE[:-1])}): edit the template and restart start-lambda")
    return request


def _updated(spec: FunctionSpec, request: Mapping[str, Any]) -> FunctionSpec:
    """``spec`` with the request's MemorySize, Timeout and Environment (which replaces every
    variable, as on AWS), each checked as Lambda checks it."""
    memory = request.get("MemorySize", spec.memory_mb)
    if not _int_in(memory, MEMORY_MIN_MB, MEMORY_MAX_MB):
        raise InvalidParameterValue(f"MemorySize {memory!r} is not valid: it must be a whole "
                                    f"number of MB from {MEMORY_MIN_MB} to {MEMORY_MAX_MB}")
    timeout: Any = request.get("Timeout", spec.timeout_s)
    if "Timeout" in request and not _int_in(timeout, 1, TIMEOUT_MAX_S):
        raise InvalidParameterValue(f"Timeout {timeout!r} is not valid: it must be a whole "
                                    f"number of seconds from 1 to {TIMEOUT_MAX_S}")
    environment = spec.environment
    if "Environment" in request:
        environment = _variables(request["Environment"])
    return replace(spec, memory_mb=memory, timeout_s=float(timeout), environment=environment)


def _variables(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) - {"Variables"}:
        raise InvalidParameterValue('Environment must be {"Variables": {NAME: VALUE, ...}}')
    variables = value.get("Variables") or {}
    if not isinstance(variables, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in variables.items()):
        raise InvalidParameterValue("Environment.Variables must map names to string values")
    bad = sorted(k for k in variables if not _ENV_KEY.match(k))
    if bad:
        raise InvalidParameterValue(f"Environment variable names {', '.join(bad)} are not valid: "
                                    "a letter, then letters, digits or underscores")
    reserved = sorted(RESERVED_ENVIRONMENT_KEYS & set(variables))
    if reserved:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not "
            f"supported for modification. Reserved keys used in this request: {', '.join(reserved)}")
    size = len(json.dumps(variables, separators=(",", ":")).encode())
    if size > ENVIRONMENT_LIMIT_BYTES:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit ({size} bytes as JSON)")
    return dict(variables)


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _revision_id() -> str:
    return str(uuid.uuid4())


def _now() -> str:
    """LastModified as Lambda writes it: 2024-05-06T07:08:09.123+0000."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
