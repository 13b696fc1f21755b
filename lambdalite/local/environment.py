"""One execution environment: a ``python -m awslambdaric HANDLER`` process and its Runtime API.

Lifecycle (``EnvState``), as in Lambda:

    NEW --spawn--> INITIALIZING --first next--> BUSY --response/error--> IDLE (frozen)
                        |                         |                       |
                        +-- init error, exit      +-- timeout, crash,     +-- reclaimed, exit
                                                      out of memory
                                      \\________________|________________/
                                                    DEFUNCT

Init Duration is measured from spawn to the runtime's first ``next``; Duration from the event
being handed out to the response or error arriving. An INIT over the 10 s limit, or one that
fails (init error, runtime exit), is logged (INIT_REPORT ... Phase: init, Status: timeout or
error with its Error Type), killed, and re-run inside the first invocation, bounded by the
function's Timeout and counted in its Duration, as on-demand Lambda does; if the re-run fails
too, the invocation fails with its error (INIT_REPORT ... Phase: invoke). A timeout,
crash or out-of-memory kills the environment: the next call starts a fresh one (cold).

SnapStart (``FunctionSpec.snap_start``): ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``, so
awslambdaric runs the before-snapshot hooks after INIT, calls ``restore/next``, then runs the
after-restore hooks. No snapshot is taken (CRIU does not run here): every new environment runs
INIT and then RESTORE at once. INIT (spawn to ``restore/next``) is not in the REPORT line, as on
Lambda where it ran when the version was published; RESTORE (``restore/next`` to the first
``next``: the after-restore hooks and the runtime's return to its loop) is ``Restore Duration``
and ``Billed Restore Duration``, between ``RESTORE_START`` and ``RESTORE_REPORT`` lines. The time
Lambda takes to restore a snapshot is not in it: it cannot be measured here. An after-restore
hook that fails (``restore/error``) fails the invocation with its error type and resets the
environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from lambdalite.lambda_facts import INIT_TIMEOUT_S, visible_vcpus
from lambdalite.local import log_lines
from lambdalite.local.engine_types import EnvState, FunctionSpec
from lambdalite.local.interpreters import Interpreter
from lambdalite.local.limits import LimitsMode, open_sandbox, plan_limits
from lambdalite.local.limits.placement import CpuPlacement, spawning_on
from lambdalite.local.log_lines import LATEST
from lambdalite.local.logs import OutputCollector
from lambdalite.local.runtime_api import (
    MAX_RESPONSE_BYTES,
    Exited,
    InitError,
    Invocation,
    Outcome,
    OutcomeKind,
    Ready,
    RestoreError,
    RuntimeAPI,
    RuntimeEvent,
    Snapshot,
)

SHUTDOWN_GRACE_S = 2.0
# AWS_LAMBDA_INITIALIZATION_TYPE's values (provisioned-concurrency is not emulated).
ON_DEMAND, SNAP_START = "on-demand", "snap-start"
MAX_WAIT_S = 3600.0   # one wait on the Runtime API's queue (a deadline may be infinite)
# Error types Lambda reports for failures of the environment rather than of the function.
TIMED_OUT = "Sandbox.Timedout"
EXIT_ERROR = "Runtime.ExitError"
OUT_OF_MEMORY = "Runtime.OutOfMemory"


@dataclass(frozen=True)
class CallFigures:
    """One call's figures (for the REPORT line and the JSON log), measured once, when it ends."""

    cold: bool
    init_duration_ms: float | None   # a cold start whose first INIT succeeded
    duration_ms: float
    max_memory_bytes: int | None     # the environment's peak since INIT; None: unmeasured here
    invocation_peak_bytes: int | None
    init_output: str                 # cold starts: what INIT printed, and Lambda's INIT_* lines
    output: str                      # this invocation's output, platform lines included
    restore_duration_ms: float | None = None   # SnapStart: the RESTORE phase of a cold start


@dataclass(frozen=True)
class Execution:
    """What one invocation did inside an environment (the engine turns it into InvokeResult)."""

    request_id: str
    payload: bytes
    error_type: str | None           # None: success
    figures: CallFigures
    reset: bool                      # the environment was torn down by this invocation


@dataclass(frozen=True)
class _Call:
    """One invocation, as known before its outcome: what its figures start from."""

    invocation: Invocation
    timeout_s: float
    cold: bool
    init_ms: float | None = None     # Init Duration; None when warm or INIT re-runs in this call
    init_output: str = ""
    restore_ms: float | None = None  # SnapStart: Restore Duration of this cold start

    @property
    def request_id(self) -> str:
        return self.invocation.request_id


def lambda_environ(spec: FunctionSpec, interpreter: Interpreter, runtime_api: str, *,
                   region: str, log_stream: str,
                   host: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment Lambda gives a function (pure: tests pass a dict for ``host``).

    The function's own variables come first so that Lambda's reserved names win, as Lambda
    refuses to let a function set them. Never AWS_LAMBDA_MAX_CONCURRENCY: it switches
    awslambdaric into its multi-concurrency (Managed Instances) mode.
    """
    host = os.environ if host is None else host
    python_path = [str(spec.code_dir), *interpreter.extra_path]
    env = {
        "PATH": host.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        # Lambda's task root is read-only: no bytecode is written there, so neither do we.
        "PYTHONDONTWRITEBYTECODE": "1",
        **spec.environment,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": interpreter.runtime_dir,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": LATEST,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": SNAP_START if spec.snap_start else ON_DEMAND,
        "TZ": ":UTC",
        "PYTHONPATH": os.pathsep.join(python_path),
    }
    env.pop("AWS_LAMBDA_MAX_CONCURRENCY", None)
    return env


def log_stream_name(now: datetime | None = None) -> str:
    """``YYYY/MM/DD/[$LATEST]<32 hex>``, the shape of Lambda's log stream names."""
    day = (now or datetime.now(UTC)).strftime("%Y/%m/%d")
    return f"{day}/[{LATEST}]{secrets.token_hex(16)}"


def error_payload(request_id: str, error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type,
                       "errorMessage": log_lines.error_message(request_id, message)}).encode()


class Environment:
    """One execution environment. Not thread-safe by itself: the pool gives it one caller."""

    def __init__(self, spec: FunctionSpec, interpreter: Interpreter, mode: LimitsMode, *,
                 env_id: str, region: str = "us-east-1",
                 init_timeout_s: float = INIT_TIMEOUT_S, debug_port: int | None = None,
                 placement: CpuPlacement | None = None) -> None:
        """``debug_port``: run the runtime under debugpy, listening there and waiting for a
        client; the INIT limit and Timeout are then not enforced (a debugger stops the code),
        and the environment is not frozen between calls (the debugger stays responsive).
        ``placement``: where the runtime gets host CPUs of its own (``limits.placement``);
        None: it runs on any CPU."""
        self.spec = spec
        self.interpreter = interpreter
        self.id = env_id
        self.region = region
        self.init_timeout_s = math.inf if debug_port is not None else init_timeout_s
        self.debug_port = debug_port
        self.state = EnvState.NEW
        self.last_used = time.monotonic()
        self.invocations = 0
        self.sandbox = open_sandbox(mode, env_id, plan_limits(spec.memory_mb))
        self.placement = placement
        self.cpus: frozenset[int] | None = None   # the host CPUs it runs on; None: any
        self.api = self._new_api()
        self.proc: subprocess.Popen[bytes] | None = None
        self._output: OutputCollector | None = None
        self._frozen = False
        self._released = False
        self._peak_reset = False   # the per-call peak was reset when the last call ended
        self._spawned_at = 0.0
        self._snapshot: tuple[float, str] | None = None   # SnapStart: when, INIT's output
        self._lock = threading.Lock()   # state changes from the watcher vs. the caller

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        # The watcher reaps the runtime the moment it exits (``returncode``) and marks an idle
        # environment DEFUNCT: no waitpid here (three a call, each a GIL hand-off on a busy host).
        return self.state is not EnvState.DEFUNCT and (
            self.proc is None or self.proc.returncode is None)

    # -- invoke --------------------------------------------------------------------------------

    def invoke(self, invocation: Invocation, timeout_s: float) -> Execution:
        if self.state is not EnvState.NEW:
            return self._serve(_Call(invocation, timeout_s, cold=False))
        self.state = EnvState.INITIALIZING
        self._spawn()
        init_output = self._init_start_line() + "\n"
        event, init_ms = self._init(self._spawned_at + self.init_timeout_s)
        if self._snapshot is not None and isinstance(event, Ready | RestoreError):
            return self._restored(invocation, timeout_s, event, init_output)
        init_output += self._take_output()
        if isinstance(event, Ready):
            return self._serve(_Call(invocation, timeout_s, cold=True, init_ms=init_ms,
                                     init_output=init_output))
        # On-demand Lambda: an INIT that fails (error, crash, or over the 10 s limit) is
        # reported, then re-run as part of the first invoke ("suppressed init"), bounded by the
        # function's Timeout, whose Duration includes it; the REPORT then has no Init Duration.
        init_output += self._abandon_init(event, init_ms)
        return self._rerun_init(invocation, timeout_s, init_output)

    def _rerun_init(self, invocation: Invocation, timeout_s: float, init_output: str
                    ) -> Execution:
        """INIT once more, as part of this invocation: its Duration starts at the spawn."""
        self._renew_api()
        self._spawn()
        began = self._spawned_at
        event, init_ms = self._init(began + self._enforced(timeout_s))
        call = _Call(invocation, timeout_s, cold=True, init_output=init_output + self._take_output())
        if event is None:
            line = log_lines.init_report(init_ms, "invoke", "timeout")
            return self._timed_out(replace(call, init_output=call.init_output + line + "\n"))
        if isinstance(event, InitError | RestoreError):
            return self._init_failed(call, event, init_ms)
        if isinstance(event, Exited):
            return self._init_crashed(call, event, init_ms)
        return self._serve(call, began)

    def _serve(self, call: _Call, began: float | None = None) -> Execution:
        """Hand the event out and wait for its outcome. ``began``: where the call's Duration
        starts when that is before the event is offered (a re-run INIT that is part of it)."""
        self.state = EnvState.BUSY
        self.invocations += 1
        if not self._peak_reset:   # else the last call's end reset it: no reading twice
            self.sandbox.reset_peak()
        self._peak_reset = False
        offered = time.monotonic()
        began = offered if began is None else began
        self.api.serve(call.invocation.with_deadline(int(
            (time.time() - (offered - began) + call.timeout_s) * 1000)))
        execution = self._await_outcome(call, began)
        self.last_used = time.monotonic()
        return execution

    def _restored(self, invocation: Invocation, timeout_s: float, event: Ready | RestoreError,
                  init_output: str) -> Execution:
        """A SnapStart cold start: INIT's lines, then RESTORE's, then the invocation (served,
        or failed by an after-restore hook)."""
        assert self._snapshot is not None
        snapshot_at, init_printed = self._snapshot
        ended = event.at if isinstance(event, Ready) else time.monotonic()
        restore_ms = (ended - snapshot_at) * 1000
        lines = init_output + init_printed
        # The runtime's output is captured as it comes: a line it was still writing when the
        # snapshot was taken must not swallow RESTORE_START.
        if lines and not lines.endswith("\n"):
            lines += "\n"
        lines += self._restore_start_line() + "\n" + self._take_output()
        if isinstance(event, Ready):
            lines += log_lines.restore_report(restore_ms) + "\n"
            return self._serve(_Call(invocation, timeout_s, cold=True,
                                     init_ms=(snapshot_at - self._spawned_at) * 1000,
                                     init_output=lines, restore_ms=restore_ms))
        self._wait_exit(1.0)     # awslambdaric exits (65) right after posting the error
        peak = self.sandbox.peak_since_reset()
        self.kill()
        lines += self._take_output()
        lines += log_lines.restore_report(restore_ms, "error", event.error_type) + "\n"
        call = _Call(invocation, timeout_s, cold=True, init_output=lines, restore_ms=restore_ms)
        figures = self._figures(call, 0.0, peak, "")
        return Execution(call.request_id, event.body, event.error_type, figures, reset=True)

    def _init(self, deadline: float
              ) -> tuple[Ready | InitError | RestoreError | Exited | None, float]:
        """Wait for INIT to end: Ready (the first ``next``), InitError, Exited, or None at
        ``deadline``; and how long it took, from spawn. SnapStart: INIT ends at the Snapshot
        (kept in ``_snapshot`` with what INIT printed), RESTORE at Ready or RestoreError; the
        INIT limit holds for both, as Lambda's 10 s hold for INIT and for RESTORE."""
        self._snapshot = None
        while True:
            event = self._next_event(deadline)
            elapsed_ms = (time.monotonic() - self._spawned_at) * 1000
            if isinstance(event, Snapshot):
                self._snapshot = (event.at, self._take_output())
                deadline = event.at + self.init_timeout_s
                continue
            if isinstance(event, Ready):
                end = self._snapshot[0] if self._snapshot else event.at
                return event, (end - self._spawned_at) * 1000
            if isinstance(event, InitError | RestoreError | Exited):
                return event, elapsed_ms
            if event is None and time.monotonic() >= deadline:   # else: a memory poll is due
                return None, elapsed_ms

    def _abandon_init(self, event: InitError | RestoreError | Exited | None, init_ms: float
                      ) -> str:
        """End a failed first INIT, keeping the environment (its limits) for the re-run:
        the runtime's last output and Lambda's ``INIT_REPORT ... Phase: init`` line."""
        if event is not None:
            # awslambdaric exits right after posting its init error: let it finish writing.
            self._wait_exit(1.0)
        self._signal(signal.SIGKILL)
        self.sandbox.kill_all()
        self._wait_exit(5.0)
        output = self._take_output()
        if event is None:
            return output + log_lines.init_report(init_ms, "init", "timeout") + "\n"
        error_type = self._init_error_type(event)
        return output + log_lines.init_report(init_ms, "init", "error", error_type) + "\n"

    def _wait_exit(self, timeout_s: float) -> None:
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout_s)

    def _init_error_type(self, event: InitError | RestoreError | Exited) -> str:
        return self._exit_error_type() if isinstance(event, Exited) else event.error_type

    def _exit_error_type(self) -> str:
        """Why the runtime exited: the OOM killer (cgroup), or any other exit."""
        return OUT_OF_MEMORY if self.sandbox.oom_killed() else EXIT_ERROR

    def _renew_api(self) -> None:
        """A fresh Runtime API for a re-run INIT: the old one may still hold requests of the
        killed runtime (a ``next`` sent just as INIT timed out)."""
        self.api.abandon()
        self.api.close()
        self.api = self._new_api()

    def _new_api(self) -> RuntimeAPI:
        return RuntimeAPI(on_wait=self._freeze, on_offer=self._thaw, owner=self.sandbox.pids,
                          snap_start=self.spec.snap_start)

    def _init_start_line(self) -> str:
        """Lambda's first line of a cold start. The version is local: the interpreter's
        Python version, and an ARN derived from the interpreter (not an AWS runtime build)."""
        return log_lines.init_start(*self._runtime_version())

    def _restore_start_line(self) -> str:
        return log_lines.restore_start(*self._runtime_version())

    def _runtime_version(self) -> tuple[str, str]:
        version = self.interpreter.version
        digest = hashlib.sha256(f"{self.interpreter.path}|{version}".encode()).hexdigest()
        return f"python:{version}.local", f"arn:aws:lambda:{self.region}::runtime:{digest}"

    def _await_outcome(self, call: _Call, began: float) -> Execution:
        deadline = began + self._enforced(call.timeout_s)
        while True:
            event = self._next_event(deadline)
            elapsed_ms = (time.monotonic() - began) * 1000
            if event is None:
                if self.sandbox.poll():   # a polling sandbox: over MemorySize
                    return self._fail(call, OUT_OF_MEMORY,
                                      log_lines.runtime_exited("signal: killed"), elapsed_ms)
                if time.monotonic() < deadline:
                    continue
                return self._timed_out(call)
            if isinstance(event, Exited):
                return self._crashed(call, event, elapsed_ms)
            if isinstance(event, Outcome) and event.request_id == call.request_id:
                return self._finished(call, event, began)

    def _timed_out(self, call: _Call) -> Execution:
        # Lambda logs this line with a timestamp; the caller gets Sandbox.Timedout.
        return self._fail(call, TIMED_OUT, log_lines.timeout_message(call.timeout_s),
                          call.timeout_s * 1000,
                          log=log_lines.timed_out(call.request_id, call.timeout_s))

    def _finished(self, call: _Call, outcome: Outcome, began: float) -> Execution:
        # From the event being handed out, or from a re-run INIT that is part of this invoke.
        duration_ms = (outcome.finished - min(began, outcome.started)) * 1000
        # Read and reset at once: the next call's peak then starts here and covers what the
        # runtime does after its response (until it blocks in ``next`` and is frozen), so no
        # moment of the environment's life goes unread, with one reading a call, not two.
        peak = self.sandbox.reset_peak()
        self._peak_reset = True
        figures = self._figures(call, duration_ms, peak, self._take_output())
        if outcome.kind is OutcomeKind.TOO_LARGE:
            # awslambdaric raises on the 413 and the runtime exits: reset now rather than hand
            # a dying environment to the next caller.
            payload = json.dumps({
                "errorMessage": "Response payload size exceeded maximum allowed payload size "
                                f"({MAX_RESPONSE_BYTES} bytes).",
                "errorType": outcome.error_type}).encode()
            self.kill()
            return Execution(call.request_id, payload, outcome.error_type, figures, reset=True)
        if outcome.kind is OutcomeKind.ERROR and self.sandbox.oom_error(outcome.error_type):
            self.kill()
            payload = error_payload(call.request_id, OUT_OF_MEMORY,
                                    log_lines.runtime_exited("MemoryError"))
            return Execution(call.request_id, payload, OUT_OF_MEMORY, figures, reset=True)
        self.state = EnvState.IDLE
        if outcome.kind is OutcomeKind.ERROR:
            error_type = outcome.error_type or "Unhandled"
            return Execution(call.request_id, outcome.body, error_type, figures, reset=False)
        return Execution(call.request_id, outcome.body, None, figures, reset=False)

    def _init_failed(self, call: _Call, error: InitError | RestoreError, init_ms: float
                     ) -> Execution:
        """The re-run INIT failed too: the invocation fails with the init error; its Duration
        is the re-run INIT."""
        self._wait_exit(1.0)
        peak = self.sandbox.peak_since_reset()
        self.kill()
        # Lambda logs INIT's output and INIT_REPORT lines before the START line.
        line = log_lines.init_report(init_ms, "invoke", "error", error.error_type)
        call = replace(call, init_output=call.init_output + self._take_output() + line + "\n")
        figures = self._figures(call, init_ms, peak, "")
        return Execution(call.request_id, error.body, error.error_type, figures, reset=True)

    def _init_crashed(self, call: _Call, exited: Exited, init_ms: float) -> Execution:
        """The re-run INIT's runtime exited without an init error (``os._exit``, a signal, out
        of memory): Lambda logs ``INIT_REPORT ... Phase: invoke`` with the exit's error type."""
        self._wait_exit(1.0)
        output = self._take_output()
        # Read once: the sandbox counts OOM kills since its last reading, so a second reading
        # for the invocation's own error would find none and say Runtime.ExitError.
        error_type = self._init_error_type(exited)
        line = log_lines.init_report(init_ms, "invoke", "error", error_type)
        return self._crashed(replace(call, init_output=call.init_output + output + line + "\n"),
                             exited, init_ms, error_type)

    def _crashed(self, call: _Call, exited: Exited, elapsed_ms: float,
                 error_type: str | None = None) -> Execution:
        """The runtime exited during the call; ``error_type`` when already known (else read
        from the sandbox: out of memory or any other exit)."""
        message = log_lines.runtime_exited(log_lines.exit_reason(exited.returncode))
        return self._fail(call, error_type or self._exit_error_type(), message, elapsed_ms)

    def _fail(self, call: _Call, error_type: str, message: str, duration_ms: float,
              log: str | None = None) -> Execution:
        """The environment failed (not the function's code): kill it and report like Lambda."""
        peak = self.sandbox.peak_since_reset()
        if error_type == OUT_OF_MEMORY:
            peak = max(peak, self.sandbox.plan.memory_bytes)
        self.kill()
        output = self._take_output()
        lines = [log] if log else []
        lines.append(log_lines.failure(call.request_id, message, error_type))
        output = output + ("" if not output or output.endswith("\n") else "\n") + "\n".join(lines)
        payload = error_payload(call.request_id, error_type, message)
        figures = self._figures(call, duration_ms, peak, output)
        return Execution(call.request_id, payload, error_type, figures, reset=True)

    def _figures(self, call: _Call, duration_ms: float, peak: int, output: str) -> CallFigures:
        measured = self.sandbox.measures_memory
        return CallFigures(
            cold=call.cold, init_duration_ms=call.init_ms, duration_ms=duration_ms,
            max_memory_bytes=max(self.sandbox.lifetime_peak, peak) if measured else None,
            invocation_peak_bytes=peak if measured else None,
            init_output=call.init_output, output=output, restore_duration_ms=call.restore_ms)

    # -- process -------------------------------------------------------------------------------

    def _spawn(self) -> None:
        env = lambda_environ(self.spec, self.interpreter, self.api.address,
                             region=self.region, log_stream=log_stream_name())
        if self._output is not None:   # a re-run INIT: the killed runtime's pipe
            self._output.close()
        read_fd, write_fd = os.pipe()
        self._peak_reset = False
        if self.placement is not None and self.cpus is None:   # a re-run INIT keeps its CPUs
            self.cpus = self.placement.acquire(visible_vcpus(self.spec.memory_mb))
        self._spawned_at = time.monotonic()
        try:
            with spawning_on(self.cpus):
                self.proc = subprocess.Popen(
                    self._command(), cwd=self.spec.code_dir, env=env,
                    stdin=subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
                    start_new_session=True, close_fds=True)
        except OSError:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._output = OutputCollector(read_fd)
        self.sandbox.started(self.proc.pid)
        threading.Thread(target=self._watch, args=(self.proc, self.api),
                         name=f"watch-{self.id}", daemon=True).start()

    def _enforced(self, timeout_s: float) -> float:
        """The limit a call is held to: its Timeout, or none while a debugger may stop it."""
        return math.inf if self.debug_port is not None else timeout_s

    def _command(self) -> list[str]:
        args = ["-m", "awslambdaric", self.spec.handler]
        if self.debug_port is not None:
            args[0:0] = ["-m", "debugpy", "--listen", f"127.0.0.1:{self.debug_port}",
                         "--wait-for-client"]
        # An emulated interpreter's qemu is the process the limits hold (it is the environment).
        return self.sandbox.command(self.interpreter.command(args))

    def _watch(self, proc: subprocess.Popen[bytes], api: RuntimeAPI) -> None:
        returncode = proc.wait()
        api.post(Exited(returncode))   # to its own API: a re-run INIT has a new one
        with self._lock:
            if self.state is EnvState.IDLE:
                self.state = EnvState.DEFUNCT   # died while idle: never hand it out again

    def _next_event(self, deadline: float) -> RuntimeEvent | None:
        """The next event before ``deadline``, or None at the deadline (or when the sandbox
        polls memory, at its next poll)."""
        remaining = min(deadline - time.monotonic(), MAX_WAIT_S)
        if remaining <= 0:
            return None
        if self.sandbox.poll_interval_s is not None:
            remaining = min(remaining, self.sandbox.poll_interval_s)
        return self.api.wait(remaining)

    def _take_output(self) -> str:
        return self._output.take() if self._output else ""

    def _freeze(self) -> None:
        if self.debug_port is not None:
            return   # a frozen debuggee would stall its debugger between calls
        # Under the lock that ``kill`` and ``shutdown`` take to mark the environment DEFUNCT
        # before they signal and thaw it: a freeze the Runtime API's server thread makes a few
        # ms after the last answer (runtime_api.FREEZE_AFTER_S) can then never land after that
        # thaw and hold a dying runtime frozen.
        with self._lock:
            if (self.state is not EnvState.DEFUNCT and self.proc is not None
                    and self.proc.returncode is None):   # reaped by the watcher
                self.sandbox.freeze()
                self._frozen = True

    def _thaw(self) -> None:
        if self._frozen:
            self.sandbox.thaw()
            self._frozen = False

    # -- teardown ------------------------------------------------------------------------------

    def kill(self) -> None:
        """SIGKILL at once (timeout, crash, OOM): the environment is reset."""
        with self._lock:
            self.state = EnvState.DEFUNCT
        if self.proc is not None:
            self._signal(signal.SIGKILL)
            self.sandbox.kill_all()
            self._thaw_after_kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        self._release()

    def shutdown(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """SIGTERM, then SIGKILL after ``grace_s`` (reclaim and engine close)."""
        with self._lock:
            self.state = EnvState.DEFUNCT
        if self.proc is not None and self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            self._thaw_after_kill()   # a frozen process only sees SIGTERM once thawed
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.sandbox.kill_all()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
        self._release()

    def _thaw_after_kill(self) -> None:
        self.sandbox.thaw()
        self._frozen = False

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def _release(self) -> None:
        if self._released:
            return
        self._released = True
        self.api.abandon()
        self.api.close()
        self.sandbox.close()
        if self.placement is not None:
            self.placement.release(self.cpus)
        if self._output is not None:
            # Keep what was printed up to the end for the caller's take().
            tail = self._output.take()
            self._output.close()
            self._output = _Remainder(tail)  # type: ignore[assignment]


class _Remainder:
    """What is left to read after the process is gone."""

    def __init__(self, text: str) -> None:
        self._text = text

    def take(self) -> str:
        text, self._text = self._text, ""
        return text

    def close(self) -> None:
        pass
