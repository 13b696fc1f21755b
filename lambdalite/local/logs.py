"""Logs of the local Lambda: an environment's output, one invocation's log (its lines in
Lambda's order; ``log_lines`` writes Lambda's own), and the JSON log for programs (one object
per invocation, with the REPORT figures).

The runtime's stdout and stderr share one pipe, so their order is kept. awslambdaric writes a
log line before it posts the response, so everything the handler printed is in the pipe when
the response arrives: ``OutputCollector.take`` drains the pipe before it returns, and an
invocation's log holds exactly its own lines.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from lambdalite.local import log_lines
from lambdalite.local.engine_types import Report

LogSink = Callable[[dict[str, object]], None]
# What one invocation (or one INIT) may print into the server's memory: its first and its last
# half MiB are kept, the middle is dropped with a line that says so. (Lambda keeps all of it in
# CloudWatch, where 100 MB costs nothing but money; a local server would hold it in memory.)
MAX_OUTPUT_BYTES = 1024 * 1024
# The reader thread reads what is there, then rests this long before it looks again: a runtime
# writes a few lines a call (~1000 wake-ups a second per environment when read line by line, each
# taking the GIL from the calls), and ``take`` drains the pipe at each call's end anyway. The
# pipe is enlarged so that a handler writing fast does not block on it meanwhile.
READ_PAUSE_S = 0.02
PIPE_BYTES = 1024 * 1024          # Linux's default pipe-max-size, which any user may ask for


class OutputCollector:
    """Reads one pipe continuously (so a chatty handler never blocks on a full pipe for long),
    in batches (READ_PAUSE_S), keeping at most MAX_OUTPUT_BYTES between two ``take`` calls."""

    def __init__(self, fd: int, limit: int = MAX_OUTPUT_BYTES) -> None:
        self._fd = fd
        os.set_blocking(fd, False)
        with contextlib.suppress(OSError):   # over the user's pipe quota: keep the 64 KiB
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self._lock = threading.Lock()
        self._half = limit // 2
        self._head = bytearray()
        self._tail = bytearray()
        self._dropped = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="env-output", daemon=True)
        self._thread.start()

    def take(self) -> str:
        """Everything written so far and not yet taken; ``\\r`` (awslambdaric's line separator
        inside one multi-line record) becomes a newline for a terminal."""
        with self._lock:
            self._read_available()
            data = bytes(self._head)
            if self._dropped:
                data += (f"\n[lambdalite: {self._dropped} bytes of this invocation's output were "
                         f"dropped here; at most {2 * self._half} bytes are kept per "
                         "invocation]\n").encode()
            data += bytes(self._tail)
            self._head, self._tail, self._dropped = bytearray(), bytearray(), 0
        return data.decode("utf-8", "replace").replace("\r", "\n")

    def _keep(self, chunk: bytes) -> None:
        room = self._half - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        self._tail += chunk
        excess = len(self._tail) - self._half
        if excess > 0:
            del self._tail[:excess]
            self._dropped += excess

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._thread.join(timeout=2)
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def _run(self) -> None:
        while True:
            try:
                readable, _, _ = select.select([self._fd], [], [], 0.2)
            except (OSError, ValueError):
                return
            with self._lock:
                if self._closed:
                    return
                if readable and not self._read_available():
                    return   # EOF: the process is gone
            if readable:
                time.sleep(READ_PAUSE_S)

    def _read_available(self) -> bool:
        """Read until the pipe is empty; False at EOF."""
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            self._keep(chunk)


def invocation_log(report: Report, output: str, init_output: str = "") -> str:
    """This invocation's log as Lambda writes it: init output (cold only), START, the
    function's output, END, REPORT."""
    parts = [init_output] if init_output else []
    parts.append(log_lines.start(report.request_id) + "\n")
    if output:
        parts.append(output if output.endswith("\n") else output + "\n")
    parts.append(log_lines.end(report.request_id) + "\n")
    parts.append(report.line() + "\n")
    return "".join(parts)


@dataclass(frozen=True)
class InvocationRecord:
    """One line of the JSON log: what the benchmark reads."""

    timestamp: float                 # Unix time the invocation finished
    function: str
    request_id: str
    invocation_type: str
    environment_id: str
    cold: bool
    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int | None   # the environment's peak since INIT (what REPORT shows)
    invocation_peak_mb: int | None   # the peak during this invocation alone; None: unmeasured
    init_duration_ms: float | None
    round_trip_ms: float
    function_error: str | None
    error_type: str | None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def make_sink(target: str | Path | IO[str] | LogSink | None) -> LogSink | None:
    """A JSON log sink from a path (appended), a text stream, or a callable taking the dict."""
    if target is None or callable(target):
        return target
    if isinstance(target, str | Path):
        path = Path(target)
        lock = threading.Lock()

        def _to_file(record: dict[str, object]) -> None:
            line = json.dumps(record) + "\n"
            with lock, path.open("a") as fh:
                fh.write(line)

        return _to_file
    stream = target
    stream_lock = threading.Lock()

    def _to_stream(record: dict[str, object]) -> None:
        with stream_lock:
            stream.write(json.dumps(record) + "\n")
            stream.flush()

    return _to_stream

