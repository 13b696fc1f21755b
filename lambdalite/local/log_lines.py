"""Every line Lambda itself writes into a function's log, in CloudWatch's text format.

    INIT_START Runtime Version: python:3.13.v14\tRuntime Version ARN: arn:aws:lambda:...
    INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: timeout
    START RequestId: <id> Version: $LATEST
    2024-05-06T07:08:09.123Z <id> Task timed out after 3.00 seconds
    RequestId: <id> Error: Runtime exited with error: exit status 1
    Runtime.ExitError
    END RequestId: <id>
    REPORT RequestId: <id>\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: 128 MB\t...

Fields are tab-separated where Lambda separates them with tabs (AWS's documentation pages show
the tabs as spaces). The functions return one line without its newline (``failure``: two).
Sources: "Lambda execution environment" (INIT_REPORT), "Identifying runtime version changes"
(INIT_START), "Log and monitor Python Lambda functions" (START, END, REPORT), "Monitoring for
Lambda SnapStart" (RESTORE_START, RESTORE_REPORT, Restore Duration, Billed Restore Duration),
and CloudWatch logs of timeouts and runtime exits.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from datetime import UTC, datetime

LATEST = "$LATEST"
UNMEASURED = "n/a"   # a figure this host cannot measure


def init_start(runtime_version: str, runtime_version_arn: str) -> str:
    """The first line of a cold start: which runtime build the environment runs."""
    return f"INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {runtime_version_arn}"


def init_report(init_duration_ms: float, phase: str, status: str,
                error_type: str | None = None) -> str:
    """An INIT that failed or timed out: ``phase`` init, or invoke for an INIT re-run inside an
    invocation; ``status`` error or timeout."""
    line = f"INIT_REPORT Init Duration: {init_duration_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
    return f"{line}\tError Type: {error_type}" if error_type else line


def restore_start(runtime_version: str, runtime_version_arn: str) -> str:
    """SnapStart: the first line of an environment restored from a snapshot."""
    return (f"RESTORE_START Runtime Version: {runtime_version}\t"
            f"Runtime Version ARN: {runtime_version_arn}")


def restore_report(restore_duration_ms: float, status: str | None = None,
                   error_type: str | None = None) -> str:
    """SnapStart: the end of RESTORE. Lambda prints the duration alone when RESTORE succeeds;
    a failure gets Status and Error Type as INIT_REPORT words them (by analogy: AWS's pages
    show no failed RESTORE_REPORT)."""
    line = f"RESTORE_REPORT Restore Duration: {restore_duration_ms:.2f} ms"
    if status:
        line += f"\tStatus: {status}"
    return f"{line}\tError Type: {error_type}" if error_type else line


def start(request_id: str, version: str = LATEST) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report(request_id: str, duration_ms: float, billed_duration_ms: int, memory_size_mb: int,
           max_memory_used_mb: int | None, init_duration_ms: float | None = None,
           restore_duration_ms: float | None = None,
           billed_restore_duration_ms: int | None = None) -> str:
    """The figures of one invocation; Init Duration on cold starts only, Restore Duration and
    Billed Restore Duration on SnapStart's (restored) cold starts instead. Memory this host
    cannot measure is ``n/a``, never a number (lambdalite's only departure from the format)."""
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_duration_ms} ms",
        f"Memory Size: {memory_size_mb} MB",
        f"Max Memory Used: {UNMEASURED if max_memory_used_mb is None else f'{max_memory_used_mb} MB'}",
    ]
    if init_duration_ms is not None:
        parts.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if restore_duration_ms is not None:
        parts.append(f"Restore Duration: {restore_duration_ms:.2f} ms")
        parts.append(f"Billed Restore Duration: {billed_restore_duration_ms or 0} ms")
    return "\t".join(parts)


@dataclass(frozen=True)
class Report:
    """The figures of Lambda's REPORT line, measured, never copied from settings; ``line()``
    writes it, ``parse`` reads one back (from lambdalite's log or AWS's log tail)."""

    request_id: str
    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int | None          # None: this host cannot measure it (REPORT: n/a)
    init_duration_ms: float | None = None   # cold starts only (not SnapStart's)
    restore_duration_ms: float | None = None        # SnapStart's cold starts
    billed_restore_duration_ms: int | None = None

    def line(self) -> str:
        return report(self.request_id, self.duration_ms, self.billed_duration_ms,
                      self.memory_size_mb, self.max_memory_used_mb, self.init_duration_ms,
                      self.restore_duration_ms, self.billed_restore_duration_ms)

    @classmethod
    def parse(cls, log: str, request_id: str | None = None) -> Report | None:
        return parse_report(log, request_id)


# "Billed Duration" and "Init Duration" are tried where they start, so "Duration" alone never
# matches inside them; fields may be separated by tabs (CloudWatch) or spaces (the docs), and
# AWS appends fields lambdalite does not read (XRAY TraceId).
_REPORT_FIELD = re.compile(
    r"(RequestId|Billed Restore Duration|Restore Duration|Billed Duration|Init Duration"
    r"|Max Memory Used|Memory Size|Duration): (\S+)")
_REPORT_LINE = re.compile(r"^REPORT RequestId: .*$", re.M)
_REQUIRED = ("RequestId", "Duration", "Billed Duration", "Memory Size")


def parse_report(log: str, request_id: str | None = None) -> Report | None:
    """The last REPORT line in ``log`` (of ``request_id``, if given), or None when there is
    none (a log tail cut before it). ValueError names a REPORT line that lacks a figure."""
    lines = _REPORT_LINE.findall(log)
    if request_id is not None:
        lines = [line for line in lines if line.startswith(f"REPORT RequestId: {request_id}")]
    if not lines:
        return None
    fields = dict(_REPORT_FIELD.findall(lines[-1]))
    missing = [name for name in _REQUIRED if name not in fields]
    if missing:
        raise ValueError(f"REPORT line without {', '.join(missing)}: {lines[-1]!r}")
    memory_used = fields.get("Max Memory Used", UNMEASURED)
    init = fields.get("Init Duration")
    restore, billed_restore = fields.get("Restore Duration"), fields.get("Billed Restore Duration")
    return Report(
        request_id=fields["RequestId"], duration_ms=float(fields["Duration"]),
        billed_duration_ms=int(float(fields["Billed Duration"])),
        memory_size_mb=int(fields["Memory Size"]),
        max_memory_used_mb=None if memory_used == UNMEASURED else int(memory_used),
        init_duration_ms=float(init) if init is not None else None,
        restore_duration_ms=float(restore) if restore is not None else None,
        billed_restore_duration_ms=int(float(billed_restore)) if billed_restore else None)


def timeout_message(timeout_s: float) -> str:
    """What a timed-out invocation's error says (in the log line and the error payload)."""
    return f"Task timed out after {timeout_s:.2f} seconds"


def timed_out(request_id: str, timeout_s: float, now: datetime | None = None) -> str:
    """The timeout line, which Lambda writes with a timestamp like the runtime's own lines."""
    return f"{timestamp(now)} {request_id} {timeout_message(timeout_s)}"


def error_message(request_id: str, message: str) -> str:
    """How Lambda words an environment failure, in the log and in the error payload."""
    return f"RequestId: {request_id} Error: {message}"


def runtime_exited(reason: str) -> str:
    """What a runtime exit (crash, OOM kill) says, in the log and the error payload."""
    return f"Runtime exited with error: {reason}"


def exit_reason(returncode: int) -> str:
    """How Lambda words a runtime exit (Go's ExitError text): ``exit status 1``, ``signal: killed``."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.strsignal(-returncode) or f"signal {-returncode}"
    except ValueError:
        name = f"signal {-returncode}"
    return f"signal: {name.lower()}"


def failure(request_id: str, message: str, error_type: str) -> str:
    """The two lines after a failure of the environment (timeout, runtime exit, out of memory):
    the message, then the error type alone."""
    return f"{error_message(request_id, message)}\n{error_type}"


def timestamp(now: datetime | None = None) -> str:
    """ISO 8601 in UTC with milliseconds, as Lambda stamps its lines: 2024-05-06T07:08:09.123Z."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
