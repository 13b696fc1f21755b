"""Typed data shared by the local Lambda environment's engine and its HTTP fronts.

The engine (``engine.py`` and the modules it uses) runs functions; the fronts
(``invoke_api.py`` for ``start-lambda``, ``http_api.py`` for ``start-api``, the
``local invoke`` command) only talk to it through ``LocalLambda`` and these types.
Names follow Lambda's own vocabulary (MemorySize, Timeout, InitDuration ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal, Protocol, get_args

from lambdalite.local.log_lines import Report as Report  # the REPORT line, written and read

InvocationType = Literal["RequestResponse", "Event", "DryRun"]
INVOCATION_TYPES: tuple[InvocationType, ...] = get_args(InvocationType)


@dataclass(frozen=True)
class EventSource:
    """One entry of a function's SAM ``Events``."""

    name: str
    type: str                      # Api | HttpApi | Schedule | ...
    path: str | None = None        # Api/HttpApi
    method: str | None = None      # Api/HttpApi, upper case, "ANY" allowed
    schedule: str | None = None    # Schedule: rate(...) / cron(...)
    input: str | None = None       # Schedule: constant JSON input
    binary_media_types: tuple[str, ...] = ()   # Api: its API's BinaryMediaTypes
    stage: str | None = None       # Api/HttpApi: StageName of its API (Prod / $default)
    payload_format_version: str | None = None   # HttpApi: "2.0" (default) or "1.0"


@dataclass(frozen=True)
class FunctionSpec:
    """Everything needed to run one function locally (from template.yaml or flags)."""

    name: str                      # logical id in the template
    handler: str                   # module.function (zip) or ImageConfig.Command[0]
    code_dir: Path                 # the task root (CodeUri or build output)
    runtime: str = "python3.12"
    memory_mb: int = 128
    timeout_s: float = 3.0
    architecture: str = "x86_64"
    package_type: Literal["Zip", "Image"] = "Zip"
    environment: dict[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    events: tuple[EventSource, ...] = ()
    function_url_auth: str | None = None   # FunctionUrlConfig.AuthType: NONE | AWS_IAM
    # SnapStart ApplyOn PublishedVersions: INIT, before-snapshot hooks, then RESTORE and the
    # after-restore hooks in every new environment (no snapshot is taken locally).
    snap_start: bool = False
    # What the function is made of on disk, for hot reload: the CodeUri folder or .zip, a
    # model folder outside it (LAMBDALITE_MODEL_DIR).
    watch: tuple[Path, ...] = ()
    unsupported: tuple[str, ...] = ()   # template properties we saw and do not emulate


@dataclass(frozen=True)
class Debugger:
    """Run ``function`` under debugpy, listening on 127.0.0.1:``port`` for a client (VS Code,
    PyCharm, any DAP client): one environment at a time, no Timeout or INIT limit, not frozen."""

    function: str
    port: int


class EnvState(Enum):
    """Lifecycle of one execution environment."""

    NEW = "new"
    INITIALIZING = "initializing"   # spawned, has not yet asked for the first event
    IDLE = "idle"                   # frozen between invocations
    BUSY = "busy"                   # running an invocation
    DEFUNCT = "defunct"             # crashed, timed out, OOM or reclaimed


@dataclass(frozen=True)
class InvokeResult:
    """What one invocation produced, for the Invoke API, the CLI and the benchmark."""

    request_id: str
    payload: bytes                 # the function's response, or the error JSON
    function_error: str | None     # "Unhandled" when the function failed (X-Amz-Function-Error)
    error_type: str | None         # e.g. "Sandbox.Timedout", "Runtime.ImportModuleError"
    logs: str                      # this invocation's log, START .. REPORT
    report: Report
    cold: bool
    environment_id: str
    round_trip_ms: float           # as seen by the caller of LocalLambda.invoke


class LambdaEngine(Protocol):
    """What the fronts (Invoke API, start-api, `local invoke`, bench) need from the engine.

    Implemented by ``lambdalite.local.engine.LocalLambda``.
    """

    functions: dict[str, FunctionSpec]
    limits_notice: str   # one line: how memory/CPU limits are enforced on this machine

    def invoke(
        self,
        function_name: str,
        payload: bytes,
        *,
        invocation_type: InvocationType = "RequestResponse",
        client_context: str | None = None,
        cognito_identity: str | None = None,
    ) -> InvokeResult:
        """Run one invocation and wait for it (``Event``: queue it, return at once with an
        empty payload; ``DryRun``: validate only). Raises ResourceNotFound,
        TooManyRequests (reserved concurrency exhausted) or RequestTooLarge."""
        ...

    def reload(self, function_name: str, spec: FunctionSpec | None = None) -> int:
        """Retire the function's environments, so that its next call is a cold start (with
        ``spec``, of that new definition: hot reload, UpdateFunctionConfiguration)."""
        ...

    def arn(self, function_name: str) -> str:
        """The function's ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)."""
        ...

    def close(self) -> None:
        """Shut every environment down: SIGTERM, then SIGKILL after a grace period."""
        ...
