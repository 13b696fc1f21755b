"""``LocalLambda``: runs functions locally the way Lambda does (implements ``LambdaEngine``).

    engine = LocalLambda({"Fn": FunctionSpec(...)}, idle_timeout_s=300, log_sink="invocations.jsonl")
    result = engine.invoke("Fn", b'{"x": 1}')
    print(result.payload, result.report.line())
    engine.close()

Per function, a pool of execution environments (``pool.py``), each a real awslambdaric process
behind its own Runtime API (``environment.py``), with memory and CPU limits (``limits/``).
Every invocation yields Lambda's START/END/REPORT lines and, if a sink is given, one JSON
object with the same figures (``logs.InvocationRecord``), which the benchmark reads.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lambdalite.emulation import EMULATED_NOTICE
from lambdalite.errors import UsageError
from lambdalite.lambda_facts import ASYNC_PAYLOAD_LIMIT, INIT_TIMEOUT_S, MB, SYNC_PAYLOAD_LIMIT
from lambdalite.local.engine_types import (
    INVOCATION_TYPES,
    Debugger,
    FunctionSpec,
    InvocationType,
    InvokeResult,
    Report,
)
from lambdalite.local.environment import Environment, Execution
from lambdalite.local.errors import InvalidRequestContent, RequestTooLarge, ResourceNotFound
from lambdalite.local.interpreters import Interpreter, check_debugpy, choose_interpreter
from lambdalite.local.limits import LimitsMode, detect_mode, limits_notice
from lambdalite.local.limits.placement import shared_placement
from lambdalite.local.logs import InvocationRecord, LogSink, invocation_log, make_sink
from lambdalite.local.pool import FunctionPool
from lambdalite.local.runtime_api import Invocation, protection_notice

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 10          # local cap when the function sets no ReservedConcurrentExecutions
DEFAULT_IDLE_TIMEOUT_S = 300.0    # Lambda keeps idle environments for minutes, not documented
DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"       # the placeholder account SAM's local tools use
ResultCallback = Callable[[InvokeResult], None]


def runtime_warning(runtime: str, architecture: str = "x86_64") -> str | None:
    """Why a function on ``runtime`` would not run under its own Python here (the host's
    runs it instead, and says so), None when it would."""
    return choose_interpreter(runtime, architecture=architecture).warning


@dataclass(frozen=True)
class _Queued:
    function_name: str
    invocation: Invocation


class LocalLambda:
    """Thread-safe: any number of threads may call ``invoke`` at once."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        *,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        python: str | None = None,
        log_sink: str | Path | IO[str] | LogSink | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        region: str = DEFAULT_REGION,
        init_timeout_s: float = INIT_TIMEOUT_S,
        limits: LimitsMode | None = None,
        on_event_result: ResultCallback | None = None,
        debug: Debugger | None = None,
        cpu_placement: bool = True,
    ) -> None:
        if concurrency < 1:
            raise UsageError("concurrency must be at least 1")
        if debug is not None and debug.function not in functions:
            raise UsageError(f"cannot debug {debug.function}: not a function here (known: "
                             f"{', '.join(sorted(functions))})")
        self.debug = debug
        self.functions: dict[str, FunctionSpec] = dict(functions)
        self.concurrency = concurrency
        self.idle_timeout_s = idle_timeout_s
        self.region = region
        self.init_timeout_s = init_timeout_s
        self._python = python
        self.limits_mode = limits or detect_mode()
        # Each environment on host CPUs of its own where there are enough (limits.placement)
        self.placement = shared_placement() if cpu_placement else None
        self.limits_notice = limits_notice(self.limits_mode)
        self.runtime_api_notice = protection_notice()
        self._sink = make_sink(log_sink)
        self._on_event_result = on_event_result
        self.interpreters: dict[str, Interpreter] = {
            name: choose_interpreter(spec.runtime, python, architecture=spec.architecture)
            for name, spec in self.functions.items()
        }
        self.warnings: list[str] = sorted({i.warning for i in self.interpreters.values() if i.warning})
        self.warnings += [f"{name}: {EMULATED_NOTICE}"
                          for name, i in sorted(self.interpreters.items()) if i.emulated]
        for warning in self.warnings:
            log.warning(warning)
        if debug is not None:
            check_debugpy(self.interpreters[debug.function])
        self._pools = {
            name: FunctionPool(spec, self._concurrency(spec, concurrency), self._new_environment)
            for name, spec in self.functions.items()
        }
        self._events: queue.Queue[_Queued | None] = queue.Queue()
        self._closed = threading.Event()
        self._threads = [
            threading.Thread(target=self._run_events, name="lambda-events", daemon=True),
            threading.Thread(target=self._reap, name="lambda-reaper", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @classmethod
    def from_template(cls, path: str | Path, *,
                      parameter_overrides: Mapping[str, str] | None = None,
                      **options: Any) -> LocalLambda:
        """The functions of the SAM template at ``path`` (a file, or a folder holding
        template.yaml), read as ``lambdalite local`` reads them; ``options``: those of
        ``LocalLambda(...)``. TemplateError if a function cannot be read."""
        from lambdalite.local.specs import load_template  # deferred: the template reader

        return cls(load_template(path, parameter_overrides=parameter_overrides), **options)

    # -- LambdaEngine ------------------------------------------------------------------------

    def invoke(
        self,
        function_name: str,
        payload: bytes,
        *,
        invocation_type: InvocationType = "RequestResponse",
        client_context: str | None = None,
        cognito_identity: str | None = None,
    ) -> InvokeResult:
        started = time.monotonic()
        spec = self._spec(function_name)
        limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
        if len(payload) > limit:
            raise RequestTooLarge(
                f"Request must be smaller than {limit} bytes for the {invocation_type} invoke "
                f"(got {len(payload)})")
        if invocation_type not in INVOCATION_TYPES:
            raise InvalidRequestContent(f"unknown InvocationType {invocation_type!r}")
        invocation = self._invocation(spec, payload, client_context, cognito_identity)
        if invocation_type == "DryRun":
            return self._placeholder(spec, invocation, started)
        if invocation_type == "Event":
            self._events.put(_Queued(function_name, invocation))
            return self._placeholder(spec, invocation, started)
        env = self._pools[function_name].acquire()
        return self._run(spec, env, invocation, started, "RequestResponse")

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._events.put(None)
        for pool in self._pools.values():
            pool.close()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- more than the protocol --------------------------------------------------------------

    def environments(self, function_name: str) -> list[Environment]:
        """The function's live environments (for tests and the benchmark)."""
        return self._pools[self._spec(function_name).name].environments()

    def reload(self, function_name: str, spec: FunctionSpec | None = None) -> int:
        """Hot reload: retire the function's environments, so that its next call is a cold
        start (with ``spec``, of that new definition); how many were retired."""
        name = self._spec(function_name).name
        if spec is not None:
            self.interpreters[name] = choose_interpreter(spec.runtime, self._python,
                                                         architecture=spec.architecture)
            self.functions[name] = spec
        return self._pools[name].retire(spec)

    def reclaim_idle(self) -> int:
        """Shut down environments idle past ``idle_timeout_s`` now; how many were."""
        return sum(len(p.reclaim_idle(self.idle_timeout_s)) for p in self._pools.values())

    def wait_events(self, timeout_s: float = 30.0) -> bool:
        """Block until every queued ``Event`` invocation has run (tests, bench)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._events.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def __enter__(self) -> LocalLambda:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _spec(self, function_name: str) -> FunctionSpec:
        try:
            return self.functions[function_name]
        except KeyError:
            raise ResourceNotFound(
                f"Function not found: {self.arn(function_name)} (known: "
                f"{', '.join(sorted(self.functions)) or 'none'})") from None

    def _concurrency(self, spec: FunctionSpec, default: int) -> int:
        if self.debug is not None and self.debug.function == spec.name:
            return 1   # one debug port: one environment at a time
        return spec.reserved_concurrency or default

    def _new_environment(self, spec: FunctionSpec, env_id: str) -> Environment:
        interpreter = self.interpreters[spec.name]
        debugged = self.debug is not None and self.debug.function == spec.name
        return Environment(spec, interpreter, self.limits_mode, env_id=env_id,
                           region=self.region,
                           init_timeout_s=self.init_timeout_s * interpreter.init_scale,
                           debug_port=self.debug.port if debugged and self.debug else None,
                           placement=self.placement)

    def _invocation(self, spec: FunctionSpec, payload: bytes, client_context: str | None,
                    cognito_identity: str | None) -> Invocation:
        request_id, trace_id = _ids()
        return Invocation(
            request_id=request_id, payload=payload, deadline_ms=0,
            function_arn=self.arn(spec.name), trace_id=trace_id,
            client_context=client_context, cognito_identity=cognito_identity)

    def arn(self, name: str) -> str:
        """The function's ARN as the Invoke API and the context object show it."""
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{name}"

    def _run(self, spec: FunctionSpec, env: Environment, invocation: Invocation,
             started: float, invocation_type: str) -> InvokeResult:
        pool = self._pools[spec.name]
        try:
            execution = env.invoke(invocation, spec.timeout_s * env.interpreter.timeout_scale)
        except BaseException:
            env.kill()
            raise
        finally:
            pool.release(env)
        result = self._result(spec, env, execution, started)
        self._record(spec, result, execution, invocation_type)
        return result

    def _result(self, spec: FunctionSpec, env: Environment, execution: Execution,
                started: float) -> InvokeResult:
        figures = execution.figures
        restore_ms = figures.restore_duration_ms if figures.cold else None
        # SnapStart: INIT ran when the version was published (its REPORT has no Init Duration);
        # a restored cold start bills its Restore Duration (Python: loading the runtime and the
        # after-restore hooks, all of what is measured here) on top of Duration.
        init_ms = figures.init_duration_ms if figures.cold and restore_ms is None else None
        billed_restore = math.ceil(restore_ms) if restore_ms is not None else None
        # Since 2025-08-01 Lambda bills the INIT phase of on-demand functions too: a cold start's
        # Billed Duration covers Init Duration + Duration, rounded up to the next millisecond.
        billed = figures.duration_ms + (init_ms or 0.0) + (billed_restore or 0)
        report = Report(
            request_id=execution.request_id,
            duration_ms=round(figures.duration_ms, 2),
            billed_duration_ms=max(1, math.ceil(billed)),
            memory_size_mb=spec.memory_mb,
            max_memory_used_mb=_mb(figures.max_memory_bytes, spec.memory_mb),
            init_duration_ms=round(init_ms, 2) if init_ms is not None else None,
            restore_duration_ms=round(restore_ms, 2) if restore_ms is not None else None,
            billed_restore_duration_ms=billed_restore,
        )
        return InvokeResult(
            request_id=execution.request_id,
            payload=execution.payload,
            function_error="Unhandled" if execution.error_type else None,
            error_type=execution.error_type,
            logs=invocation_log(report, figures.output, figures.init_output),
            report=report,
            cold=figures.cold,
            environment_id=env.id,
            round_trip_ms=(time.monotonic() - started) * 1000,
        )

    def _placeholder(self, spec: FunctionSpec, invocation: Invocation,
                     started: float) -> InvokeResult:
        """What DryRun and Event return at once: no payload, no figures."""
        report = Report(invocation.request_id, 0.0, 0, spec.memory_mb, None)
        return InvokeResult(invocation.request_id, b"", None, None, "", report, False, "",
                            (time.monotonic() - started) * 1000)

    def _record(self, spec: FunctionSpec, result: InvokeResult, execution: Execution,
                invocation_type: str) -> None:
        if self._sink is None:
            return
        report = result.report
        record = InvocationRecord(
            timestamp=time.time(), function=spec.name, request_id=result.request_id,
            invocation_type=invocation_type, environment_id=result.environment_id,
            cold=result.cold, duration_ms=report.duration_ms,
            billed_duration_ms=report.billed_duration_ms, memory_size_mb=report.memory_size_mb,
            max_memory_used_mb=report.max_memory_used_mb,
            invocation_peak_mb=_mb(execution.figures.invocation_peak_bytes),
            init_duration_ms=report.init_duration_ms, round_trip_ms=round(result.round_trip_ms, 3),
            function_error=result.function_error, error_type=result.error_type)
        try:
            self._sink(record.to_dict())
        except Exception:  # a broken sink must not fail the invocation
            log.exception("JSON log sink failed")

    def _run_events(self) -> None:
        """Asynchronous invocations run one after the other as capacity allows (Lambda's
        internal queue); their results go to the sink and ``on_event_result``."""
        while True:
            item = self._events.get()
            try:
                if item is None:
                    return
                self._run_event(item)
            finally:
                self._events.task_done()

    def _run_event(self, item: _Queued) -> None:
        spec = self.functions[item.function_name]
        try:
            env = self._pools[item.function_name].acquire(wait=True)
        except Exception:
            return  # shutting down
        started = time.monotonic()
        try:
            result = self._run(spec, env, item.invocation, started, "Event")
        except Exception:
            log.exception("Event invocation %s failed", item.invocation.request_id)
            return
        if result.function_error:
            log.warning("Event invocation %s of %s failed: %s", result.request_id, spec.name,
                        _message(result.payload))
        if self._on_event_result is not None:
            self._on_event_result(result)

    def _reap(self) -> None:
        period = max(0.05, min(1.0, self.idle_timeout_s / 4))
        while not self._closed.wait(period):
            self.reclaim_idle()


def _mb(value: int | None, cap: int | None = None) -> int | None:
    """Bytes -> whole MB as Lambda rounds them (up), at most ``cap``; None stays unmeasured."""
    if value is None:
        return None
    mb = math.ceil(value / MB)
    return mb if cap is None else min(cap, mb)


def _ids() -> tuple[str, str]:
    """A request id (a random UUID, version 4) and an X-Ray trace header of the shape Lambda
    passes (Root=1-<time>-<96 bits>;Parent=<64 bits>), from one os.urandom call: three (uuid4,
    two token_hex) were three syscalls a call on the caller's thread."""
    hex_ = os.urandom(36).hex()
    variant = "89ab"[int(hex_[16], 16) & 3]    # RFC 4122: 10xx
    request_id = (f"{hex_[:8]}-{hex_[8:12]}-4{hex_[13:16]}-{variant}{hex_[17:20]}-"
                  f"{hex_[20:32]}")
    trace = f"Root=1-{int(time.time()):08x}-{hex_[32:56]};Parent={hex_[56:72]};Sampled=0"
    return request_id, trace


def _message(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("errorMessage", ""))
    except (ValueError, AttributeError):
        return payload[:200].decode("utf-8", "replace")
