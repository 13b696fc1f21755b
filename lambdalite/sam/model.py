"""The one typed model of a SAM template, in SAM's vocabulary: parsed once (``parse.py``),
written (``write.py``), and mapped by each component to its own view (``local.specs`` ->
``FunctionSpec``, ``bundle.jobs`` -> ``PackageOptions``).

Values are as AWS takes them: numbers checked and whole, ``Globals`` merged, intrinsics
resolved where they can be without AWS. What the model does not carry is named, not dropped:
``SamFunction.notes`` (properties), ``SamEvent.notes`` and ``SamApi.notes``; an intrinsic left
where a string is needed is in ``SamFunction.unresolved``; every property's line is in
``SamFunction.lines``, so that a consumer's error says where (``SamFunction.error``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from lambdalite.sam.errors import TemplateError
from lambdalite.sam.intrinsics import unresolved

FUNCTION = "AWS::Serverless::Function"
REST_API, HTTP_API = "AWS::Serverless::Api", "AWS::Serverless::HttpApi"
# Defaults of SAM's AWS::Serverless::Function and of its APIs (the SAM specification).
DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S = 128, 3
DEFAULT_REST_STAGE, DEFAULT_HTTP_STAGE = "Prod", "$default"
HTTP_DEFAULT_ROUTE = "$default"
# Where lambdalite finds a function's model folder (relative to the template).
MODEL_DIR_METADATA = "LambdaliteModelDir"

PackageType = Literal["Zip", "Image"]
AuthType = Literal["AWS_IAM", "NONE"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class SamEvent:
    """One entry of a function's ``Events``; the fields its ``type`` has, else None."""

    name: str
    type: str                           # Api | HttpApi | Schedule | ScheduleV2 | SQS | ...
    path: str | None = None             # Api, HttpApi ("$default": HttpApi's default route)
    method: str | None = None           # Api, HttpApi, as written ("ANY" allowed)
    api: str | None = None              # RestApiId / ApiId (logical id); None: the implicit API
    stage: str | None = None            # Api, HttpApi: the StageName of its API
    binary_media_types: tuple[str, ...] = ()    # Api: its API's, "image/png" (not "image~1png")
    payload_format_version: str | None = None   # HttpApi: "2.0" or "1.0"
    schedule: str | None = None         # Schedule / ScheduleV2: rate(...) or cron(...)
    input: str | None = None            # Schedule / ScheduleV2: the constant JSON input
    notes: tuple[str, ...] = ()         # its properties the model does not carry
    line: int | None = None


@dataclass(frozen=True)
class SamApi:
    """An ``AWS::Serverless::Api`` or ``HttpApi`` resource (its Globals merged under it)."""

    logical_id: str
    type: str                           # REST_API or HTTP_API
    stage_name: str
    binary_media_types: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()         # its properties the model does not carry
    line: int | None = None


@dataclass(frozen=True)
class SamFunction:
    """One ``AWS::Serverless::Function``, ``Globals.Function`` merged under it."""

    logical_id: str
    package_type: PackageType = "Zip"
    handler: str | None = None
    runtime: str | None = None
    code_uri: str | None = None         # a path, or s3://bucket/key (also from {Bucket, Key})
    inline_code: str | None = None
    image_command: tuple[str, ...] = ()     # ImageConfig.Command
    memory_mb: int = DEFAULT_MEMORY_MB      # MemorySize
    timeout_s: int = DEFAULT_TIMEOUT_S      # Timeout
    architecture: str = "x86_64"            # Architectures[0]
    environment: dict[str, str] = field(default_factory=dict)   # Environment.Variables
    reserved_concurrency: int | None = None     # ReservedConcurrentExecutions
    events: tuple[SamEvent, ...] = ()
    function_name: str | None = None            # FunctionName
    function_url_auth: AuthType | None = None   # FunctionUrlConfig.AuthType
    auto_publish_alias: str | None = None
    provisioned_concurrency: int | None = None  # ProvisionedConcurrencyConfig
    snap_start: str | None = None               # SnapStart.ApplyOn
    ephemeral_storage_mb: int | None = None     # EphemeralStorage.Size
    condition: str | None = None                # the resource's Condition (not evaluated)
    # Metadata (as `sam build` reads it, and lambdalite's model folder).
    dockerfile: str | None = None
    docker_context: str | None = None
    docker_tag: str | None = None
    model_dir: str | None = None                # Metadata.LambdaliteModelDir
    notes: tuple[str, ...] = ()                 # properties seen that the model does not carry
    unresolved: dict[str, str] = field(default_factory=dict)    # property -> "!GetAtt T.Arn"
    path: Path | None = None                    # the template it was read from
    lines: dict[str, int] = field(default_factory=dict)     # "MemorySize", "Events.E" -> line

    def line(self, prop: str = "") -> int | None:
        """The line of ``prop`` (``Environment.Variables.K``), else of the nearest enclosing
        property, else of the resource."""
        parts = prop.split(".") if prop else []
        while parts:
            found = self.lines.get(".".join(parts))
            if found is not None:
                return found
            parts.pop()
        return self.lines.get("")

    def error(self, prop: str, text: str) -> TemplateError:
        """``text`` about ``prop`` as an error at its line: ``t.yaml:14: Fn: <text>``."""
        return TemplateError(f"{self.logical_id}: {text}", path=self.path, line=self.line(prop))

    def need(self, prop: str, value: _T | None) -> _T:
        """``value``, or the error saying why ``prop`` has none (absent, or an intrinsic)."""
        if value is not None:
            return value
        if prop in self.unresolved:
            raise self.error(prop, unresolved(prop, self.unresolved[prop]))
        raise self.error(prop, f"{prop} is required")


@dataclass(frozen=True)
class SamTemplate:
    path: Path
    functions: dict[str, SamFunction]           # readable functions, by logical id
    # Functions that cannot be read, by logical id -> the error (which names it and its line).
    broken: dict[str, TemplateError] = field(default_factory=dict)
    function_names: dict[str, str] = field(default_factory=dict)   # FunctionName -> logical id
    apis: dict[str, SamApi] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)        # logical id -> Type
    warnings: tuple[str, ...] = ()              # about the template, not one function


__all__ = ["DEFAULT_HTTP_STAGE", "DEFAULT_MEMORY_MB", "DEFAULT_REST_STAGE", "DEFAULT_TIMEOUT_S",
           "FUNCTION", "HTTP_API", "HTTP_DEFAULT_ROUTE", "MODEL_DIR_METADATA", "REST_API",
           "AuthType", "PackageType", "SamApi", "SamEvent", "SamFunction", "SamTemplate"]
