"""The Lambda Runtime API (version 2018-06-01) served to one execution environment.

One threaded stdlib TCP server (``socketserver``) per environment, each connection an HTTP/1.1
request loop of its own (``_Connection``), on 127.0.0.1 and an ephemeral port, so the runtime
client (awslambdaric) talks to it exactly as it talks to Lambda:

    GET  /2018-06-01/runtime/invocation/next              -> 200 event + Lambda-Runtime-* headers
    POST /2018-06-01/runtime/invocation/{id}/response     -> 202 | 400 | 403 | 413
    POST /2018-06-01/runtime/invocation/{id}/error        -> 202 | 400 | 403
    POST /2018-06-01/runtime/init/error                   -> 202 | 403
    GET  /2018-06-01/runtime/restore/next                 -> 200 (SnapStart) | 403
    POST /2018-06-01/runtime/restore/error                -> 202 | 403
    anything else                                         -> 404

Status codes follow the Runtime API's OpenAPI description: 400 for a request id that is not the
invocation in progress, 403 for a request the current state does not allow (a response when no
invocation is in progress, an init error after init), 413 for a response body over the 6 MB
synchronous limit. Error bodies are ``{"errorMessage", "errorType"}``.

SnapStart (``snap_start``): after INIT and its before-snapshot hooks the runtime calls
``restore/next``; Lambda takes the snapshot there, and the call returns once an environment is
restored from it, after which the runtime runs its after-restore hooks (or posts
``restore/error``) and asks for its first event. No snapshot can be taken here (no CRIU), so
``restore/next`` returns at once: INIT ends at ``restore/next`` (``Snapshot``), RESTORE at the
first ``next`` (``Ready``). Without SnapStart, ``restore/*`` is refused (403), as Lambda does for
an on-demand function. Sources: "Lambda SnapStart runtime hooks for Python" and the Runtime API
reference (RESTORE phase); awslambdaric's ``on_init_complete``.

The environment (``environment.py``) hands invocations out with ``serve`` and reads what
happens with ``wait`` (from ``events``, a queue of Ready / Outcome / InitError messages). Where
the runtime already waits in ``next``, or has just answered (its ``next`` on the way), ``serve``
answers that ``next`` from the calling thread and ``wait`` reads and answers the runtime's
requests up to the invocation's answer: a warm call wakes no server thread. Otherwise, and for
``offer`` (tests drive it), the connection's server thread answers ``next`` when the event is
queued. Either way the same routing code answers every request.

On Lambda only the function's own sandbox reaches this API. Here the port is on the host's
loopback, so each connection's peer is checked when it is accepted (``peer_check``): the client
socket's inode from ``/proc/net/tcp``, then whether one of the environment's own processes (its
cgroup, or its process tree) holds it. Anyone else gets a 403 and the connection is closed. The
runtime keeps one connection open for ``next`` and its answers, so this costs once per
environment, not per invocation. (A network namespace per environment would hide the port
completely but needs CAP_SYS_ADMIN and cuts the function off from the network, which a Lambda
function has.)
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import select
import selectors
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus

from lambdalite.lambda_facts import SYNC_PAYLOAD_LIMIT

API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
# Lambda accepts a response of up to 6 MB plus a small envelope: "6291556 bytes" in its message.
MAX_RESPONSE_BYTES = SYNC_PAYLOAD_LIMIT + 100
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"
_INVOCATION_PATH = re.compile(rf"^{API_PREFIX}/invocation/([^/]+)/(response|error)$")
_NEXT_PATH = f"{API_PREFIX}/invocation/next"
_RESTORE_NEXT_PATH = f"{API_PREFIX}/restore/next"
_INIT_ERROR_PATH = f"{API_PREFIX}/init/error"
_RESTORE_ERROR_PATH = f"{API_PREFIX}/restore/error"
_ERROR_TYPE_KEY = ERROR_TYPE_HEADER.lower()
_RECV_CHUNK = 1 << 16
_MAX_HEADERS, _MAX_LINE = 100, 65536      # http.client's limits
_MAX_HEAD = _MAX_HEADERS * _MAX_LINE
_PHRASES = {s.value: s.phrase for s in HTTPStatus}
_BAD_LENGTH = object()                    # a Content-Length that is not a number
# How long a caller that takes a loose connection (``RuntimeAPI.serve``) waits for the runtime's
# ``next`` after its last answer: awslambdaric sends it at once (tens of microseconds), so it is
# mostly there already; a runtime that takes longer gets the connection back to its server
# thread, which serves the call as ``offer`` has it.
NEXT_GRACE_S = 0.005
# A runtime whose ``next`` a caller parked (``serve``) is frozen once it has waited FREEZE_AFTER_S
# with nothing to do, at the server thread's next look (every FREEZE_TICK_S while a caller may
# hold the connection): Lambda freezes at once, but a freeze and the thaw of the next call cost
# ~0.35 ms of CPU here (cgroup v1), more than the engine's own work of a warm call, and calls
# that follow each other closely would pay it every time.
FREEZE_AFTER_S, FREEZE_TICK_S = 0.002, 0.005


class _Parked(Enum):
    PARKED = "parked"                     # ``next`` left for a caller to answer (``serve``)


_PARKED = _Parked.PARKED
# An event larger than this goes out through the server thread: a runtime that stopped reading
# could block the caller's write past its deadline (a socket buffer holds ~64 KiB at least).
SERVE_PAYLOAD_LIMIT = 1 << 16


@dataclass(frozen=True)
class Invocation:
    """One event handed to the runtime by ``next``."""

    request_id: str
    payload: bytes
    deadline_ms: int                 # Unix epoch ms
    function_arn: str
    trace_id: str
    client_context: str | None = None
    cognito_identity: str | None = None

    def with_deadline(self, deadline_ms: int) -> Invocation:
        # The constructor: dataclasses.replace inspects the fields on every call.
        return Invocation(self.request_id, self.payload, deadline_ms, self.function_arn,
                          self.trace_id, self.client_context, self.cognito_identity)


class OutcomeKind(Enum):
    RESPONSE = "response"
    ERROR = "error"                  # the runtime posted .../error (a function error)
    TOO_LARGE = "too_large"          # the runtime posted a response over the limit (413)


@dataclass(frozen=True)
class Ready:
    """The runtime asked for its first event: INIT (SnapStart: RESTORE) is over."""

    at: float                        # time.monotonic()


@dataclass(frozen=True)
class Snapshot:
    """SnapStart: the runtime called ``restore/next``: INIT and the before-snapshot hooks are
    over (Lambda would take the snapshot now); RESTORE starts."""

    at: float                        # time.monotonic()


@dataclass(frozen=True)
class RestoreError:
    """SnapStart: an after-restore hook failed (``restore/error``); the runtime exits."""

    error_type: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    request_id: str
    kind: OutcomeKind
    body: bytes
    error_type: str | None
    started: float                   # monotonic time the event was handed out by ``next``
    finished: float                  # monotonic time the response or error arrived


@dataclass(frozen=True)
class InitError:
    error_type: str
    body: bytes


@dataclass(frozen=True)
class Exited:
    """Not from the API: the environment's watcher posts it when the runtime process ends,
    so that one queue tells the environment everything that can end an invocation."""

    returncode: int


RuntimeEvent = Ready | Snapshot | RestoreError | Outcome | InitError | Exited


class RuntimeAPI:
    """State of the Runtime API for one environment, and its HTTP server."""

    def __init__(self, on_wait: Callable[[], None] | None = None,
                 on_offer: Callable[[], None] | None = None,
                 owner: Callable[[], Iterable[int]] | None = None,
                 snap_start: bool = False) -> None:
        # on_wait runs when the runtime blocks in ``next`` with nothing to do (freeze point);
        # on_offer runs when an invocation is offered (thaw point). Both under the state lock,
        # so a freeze can never overtake the thaw that follows it. owner: the pids allowed to
        # connect (the environment's processes); None: anyone (tests drive the API directly).
        # SimpleQueue: C code, no Condition (the environment waits on it once a call).
        self.events: queue.SimpleQueue[RuntimeEvent] = queue.SimpleQueue()
        self.owner = owner if owner is not None and peer_check_available() else None
        self.accepted = 0                            # connections checked and let in
        self.caller_served = 0                       # invocations ``serve`` handed out itself
        self.refused = 0                             # connections from other processes
        self._on_wait = on_wait or (lambda: None)
        self._on_offer = on_offer or (lambda: None)
        self._cond = threading.Condition()
        self._pending: Invocation | None = None
        self._current: Invocation | None = None     # handed out, not yet answered
        self._started = 0.0
        self._seen_next = False
        self.snap_start = snap_start
        self._restored = False                       # SnapStart: restore/next was called
        self._init_failed = False
        self._closed = False
        # The caller's own thread serves the runtime's connection where it can (``serve``):
        # ``_parked``: a connection whose runtime waits in ``next``, its server thread idle;
        # ``_held``: the one the caller serves now, and the caller's thread. Other threads' events
        # wake that caller through a pipe (``post``).
        self._parked: _Connection | None = None
        self._held: _Connection | None = None
        self._holder = 0
        self._freeze_at: float | None = None    # a parked runtime to freeze (then), see above
        self._loose: _Connection | None = None  # answered, its next request not read yet
        self._loose_at = 0.0
        self._ticking = False                   # the server thread looks every FREEZE_TICK_S
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._server = _Server(("127.0.0.1", 0), _Connection)
        self._server.api = self
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._server.serve_until, args=(self._stop_r,),
                                        name="runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """host:port, the value of AWS_LAMBDA_RUNTIME_API."""
        port = self._server.server_address[1]
        return f"127.0.0.1:{port}"

    def offer(self, invocation: Invocation) -> None:
        """Queue the next event; the runtime's (possibly already waiting) ``next`` returns it,
        answered by the connection's server thread."""
        with self._cond:
            if self._pending is not None:
                raise RuntimeError("an invocation is already pending in this environment")
            self._pending = invocation
            self._on_offer()
            self._cond.notify_all()

    def serve(self, invocation: Invocation) -> None:
        """``offer``, served by the calling thread where it can be. A call then wakes no
        server thread and hands the GIL to none (with two environments, their four threads
        fought for it on two cores, and the runtimes waited for them).

        The runtime's connection is free for it when its runtime waits in ``next`` (parked),
        or has answered its last invocation with nobody reading it since (loose: its ``next``
        follows at once, and this thread reads it first). The thread answers that ``next``
        with the event, and its ``wait`` reads and answers the runtime's requests up to the
        invocation's answer, then leaves the connection loose for the next call. Otherwise
        (or for an event over SERVE_PAYLOAD_LIMIT) this is ``offer``. The caller must
        ``wait`` for the outcome."""
        small = len(invocation.payload) <= SERVE_PAYLOAD_LIMIT
        with self._cond:
            conn = self._loose if small and self._pending is None else None
            if conn is not None:
                self._loose = None
                self._held, self._holder = conn, threading.get_ident()
        if conn is not None:
            # Its ``next``, parked (or, rarely, something else, or nothing within NEXT_GRACE_S:
            # the connection goes back to its server thread, which serves the event as
            # ``offer`` has it).
            if self._readable(conn, NEXT_GRACE_S, wake=False):
                self._step(conn, time.monotonic() + NEXT_GRACE_S, last=True)
            else:
                self._hand_back(conn)
        with self._cond:
            conn = self._parked
            if (conn is None or not conn.keep_alive or self._pending is not None
                    or self._closed or not small):
                self._pending_locked(invocation)
                return
            self._parked = None
            self._held, self._holder = conn, threading.get_ident()
            self._current = invocation
            self._started = time.monotonic()
            self._freeze_at = None
            self.caller_served += 1
            self._on_offer()
            if not self._ticking:    # the server thread must look while the caller holds it
                self._cond.notify_all()
        if not conn.reply_next(invocation):
            self._hand_back(conn)     # the runtime is gone: its exit is on the way (Exited)

    def _pending_locked(self, invocation: Invocation) -> None:
        if self._pending is not None:
            raise RuntimeError("an invocation is already pending in this environment")
        self._pending = invocation
        self._on_offer()
        self._cond.notify_all()

    def wait(self, timeout: float) -> RuntimeEvent | None:
        """The next event within ``timeout`` seconds, or None. While this thread serves the
        runtime's connection (``serve``), it reads and answers the runtime's requests until
        the event comes; after the invocation's answer the connection is left loose."""
        end = time.monotonic() + timeout
        while True:
            with contextlib.suppress(queue.Empty):
                return self.events.get_nowait()
            conn = self._held
            remaining = end - time.monotonic()
            if remaining <= 0:
                return None
            if conn is None or self._holder != threading.get_ident():
                try:
                    return self.events.get(timeout=remaining)
                except queue.Empty:
                    return None
            if self._readable(conn, remaining) and self._step(conn, end) \
                    and self._current is None:
                # The invocation's answer: the runtime's ``next`` follows; whoever serves the
                # next call reads it, or the server thread after FREEZE_AFTER_S (to freeze).
                with self._cond:
                    if self._held is conn:
                        self._held, self._holder = None, 0
                        self._loose, self._loose_at = conn, time.monotonic()

    def _readable(self, conn: _Connection, timeout: float, wake: bool = True) -> bool:
        """Whether the runtime's connection has data (or was closed) within ``timeout``; False
        also when another thread posted an event (``post`` writes the wake pipe)."""
        if conn.pending_input():
            return True
        fds = [conn.request, self._wake_r] if wake else [conn.request]
        try:
            ready = select.select(fds, [], [], timeout)[0]
        except (OSError, ValueError):    # closed under us: the environment is going away
            self._hand_back(conn)
            return False
        if self._wake_r in ready:
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 4096)
        return conn.request in ready

    def _step(self, conn: _Connection, end: float, last: bool = False) -> bool:
        """One request of the served connection, read and answered; False when the connection
        is no longer this thread's (handed back, parked, or ended). ``last``: after the
        invocation's answer: a ``next`` parks the connection, anything else hands it back."""
        conn.deadline = end
        try:
            outcome = conn.step(holder=True)
        except OSError:                  # reset, or stalled past the call's deadline
            outcome = None
        conn.deadline = None
        if outcome is _PARKED:
            self._release(conn)
            return False
        if outcome is None or last:
            self._hand_back(conn)
            return False
        return True

    def _release(self, conn: _Connection) -> None:
        with self._cond:
            if self._held is conn:
                self._held, self._holder = None, 0

    def _hand_back(self, conn: _Connection) -> None:
        """Return the connection to its server thread, which goes on reading it."""
        with self._cond:
            if self._held is conn:
                self._held, self._holder = None, 0
            conn.returned = True
            self._cond.notify_all()

    def post(self, event: RuntimeEvent) -> None:
        """An event for the environment; wakes a caller that serves the connection."""
        self.events.put(event)
        if self._held is not None and self._holder != threading.get_ident():
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"\0")

    def abandon(self) -> None:
        """Forget the invocation in progress (it timed out or the runtime died)."""
        with self._cond:
            self._pending = None
            self._current = None
            held, self._held, self._holder = self._held or self._loose, None, 0
            self._loose = None
            if held is not None:
                held.returned = True
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        if threading.current_thread() is not self._thread:
            self._thread.join(5)
        self._server.server_close()
        for fd in (self._wake_r, self._wake_w, self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- request handling, called from server threads -------------------------------------

    def next_invocation(self, conn: _Connection | None = None, holder: bool = False
                        ) -> tuple[int, dict[str, object], Invocation | None] | _Parked:
        """``next``: the invocation to hand out (or why not). With ``conn`` (a keep-alive
        connection), a ``next`` with nothing to hand out is parked for ``serve``: ``holder``
        (the caller serving it) gets _PARKED at once; a server thread waits until the
        connection is handed back to it (then _PARKED: the request was answered by the caller)
        or an ``offer`` comes."""
        with self._cond:
            if self._init_failed:
                return _forbidden("the runtime reported an init error and must exit")
            if self._current is not None:
                return _forbidden(f"invocation {self._current.request_id} has not been answered")
            first = not self._seen_next
            if first:
                self._seen_next = True
                self.post(Ready(time.monotonic()))
            elif self._pending is None and not self._closed:
                # Done with an invocation and nothing queued: the environment is frozen, as
                # Lambda freezes it once the runtime asks for the next event (a caller's park:
                # after FREEZE_AFTER_S, see above). (The first next ends INIT; the invocation
                # that caused the cold start follows at once.)
                if holder:
                    self._freeze_at = time.monotonic() + FREEZE_AFTER_S
                else:
                    self._on_wait()
            if conn is not None and self._pending is None and not self._closed:
                self._parked = conn
                if holder:
                    return _PARKED
                self._wait_parked(conn)
                if conn.returned:
                    conn.returned = False
                    return _PARKED
                if self._parked is conn:
                    self._parked = None
            while self._pending is None and not self._closed:
                self._cond.wait()
            if self._closed:
                return 500, _err("Runtime.Shutdown", "the execution environment is shutting down"), None
            invocation, self._pending = self._pending, None
            self._current = invocation
            self._started = time.monotonic()
            return 200, {}, invocation

    def _wait_parked(self, conn: _Connection) -> None:
        """The server thread of a parked connection, under the lock: wait for an ``offer``
        (served by this thread, as without ``serve``) or for the connection to be handed back
        by a caller that took it; freeze a runtime a caller parked once it is due."""
        conn.returned = False
        while not self._closed and not conn.returned:
            if self._parked is conn and self._pending is not None:
                return
            now = time.monotonic()
            if self._freeze_at is not None and self._parked is conn and now >= self._freeze_at:
                self._freeze_at = None
                self._on_wait()
            if self._loose is conn and now >= self._loose_at + FREEZE_AFTER_S:
                self._loose = None        # no call came: read its next here (and freeze)
                conn.returned = True
                break
            idle = self._parked is conn and self._freeze_at is None
            self._ticking = not idle
            self._cond.wait(None if idle else FREEZE_TICK_S)
        self._ticking = False

    def check_answer(self, request_id: str) -> tuple[int, dict[str, object]] | None:
        """Why a response/error for ``request_id`` is refused now, or None if it is accepted."""
        with self._cond:
            if self._current is None:
                return _forbidden(f"no invocation in progress (request {request_id})")[:2]
            if request_id != self._current.request_id:
                return 400, _err("InvalidRequestID", "Invalid request ID")
            return None

    def answer(self, request_id: str, kind: OutcomeKind, body: bytes,
               error_type: str | None) -> tuple[int, dict[str, object]]:
        with self._cond:
            refused = self.check_answer(request_id)
            if refused is not None:
                return refused
            started, self._current = self._started, None
            self.post(Outcome(request_id, kind, body, error_type, started, time.monotonic()))
        if kind is OutcomeKind.TOO_LARGE:
            return 413, _err("RequestEntityTooLarge",
                             f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).")
        return 202, {"status": "OK"}

    def init_error(self, error_type: str, body: bytes) -> tuple[int, dict[str, object]]:
        with self._cond:
            if self._seen_next or self._restored or self._init_failed:
                return _forbidden("init errors are only accepted during INIT")[:2]
            self._init_failed = True
            self.post(InitError(error_type, body))
        return 202, {"status": "OK"}

    def restore_next(self) -> tuple[int, dict[str, object]]:
        """SnapStart's end of INIT: the snapshot point; here the restore follows at once."""
        with self._cond:
            if not self.snap_start:
                return _forbidden("restore/next is for SnapStart functions only")[:2]
            if self._restored or self._seen_next or self._init_failed:
                return _forbidden("restore/next is only accepted once, at the end of INIT")[:2]
            self._restored = True
            self.post(Snapshot(time.monotonic()))
        return 200, {}

    def restore_error(self, error_type: str, body: bytes) -> tuple[int, dict[str, object]]:
        with self._cond:
            if not self._restored or self._seen_next or self._init_failed:
                return _forbidden("restore errors are only accepted during RESTORE")[:2]
            self._init_failed = True     # the runtime must exit; no event will be served
            self.post(RestoreError(error_type, body))
        return 202, {"status": "OK"}


def _err(error_type: str, message: str) -> dict[str, object]:
    return {"errorMessage": message, "errorType": error_type}


def _forbidden(why: str) -> tuple[int, dict[str, object], None]:
    return 403, _err("InvalidStateTransition", f"State transition is not allowed: {why}"), None


PROTECTED_NOTICE = ("runtime API: each environment's port answers only that environment's "
                    "own processes (the peer of every connection is checked in /proc)")
UNPROTECTED_NOTICE = ("runtime API: not protected - /proc/net/tcp is not readable here, so any "
                      "local process could take an environment's invocations")
_TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
_REFUSAL_BODY = json.dumps({"errorMessage": "this Runtime API serves only its execution "
                                            "environment's own processes",
                            "errorType": "AccessDenied"}).encode()
_REFUSAL = (b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(_REFUSAL_BODY), _REFUSAL_BODY))


def peer_check_available() -> bool:
    return os.access(_TCP_TABLES[0], os.R_OK)


def protection_notice() -> str:
    return PROTECTED_NOTICE if peer_check_available() else UNPROTECTED_NOTICE


def peer_check(peer: tuple[str, int], server_port: int, pids: Iterable[int]) -> bool:
    """Whether the TCP connection from ``peer`` to our ``server_port`` belongs to one of
    ``pids``: its socket's inode (``/proc/net/tcp``), held open by one of them (``/proc/<pid>/fd``).
    """
    inode = _socket_inode(peer[1], server_port)
    if inode is None:
        return False
    link = f"socket:[{inode}]"
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == link:
                        return True
    return False


def _socket_inode(client_port: int, server_port: int) -> str | None:
    """The inode of the client end: local port ``client_port``, remote port ``server_port``."""
    local, remote = f":{client_port:04X}", f":{server_port:04X}"
    for table in _TCP_TABLES:
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines, None)   # the column titles
            for line in lines:
                fields = line.split()
                if (len(fields) > 9 and fields[1].endswith(local)
                        and fields[2].endswith(remote)):
                    return fields[9]
    return None


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    timeout = 0            # handle_request: a connection is waiting when it is called
    api: RuntimeAPI

    def serve_until(self, stop_fd: int) -> None:
        """Accept connections until ``stop_fd`` is readable. socketserver's ``serve_forever``
        notices ``shutdown()`` only at its next poll (every 0.5 s), so each environment's reset
        (a timeout, a crash) and teardown waited ~0.3 s for it; this loop wakes at once."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.fileno(), selectors.EVENT_READ)
            selector.register(stop_fd, selectors.EVENT_READ)
            while True:
                ready = {key.fd for key, _events in selector.select()}
                if stop_fd in ready:
                    return
                self.handle_request()

    def verify_request(self, request: object, client_address: object) -> bool:
        """Accept only the environment's own processes (runs before a thread is started)."""
        owner = self.api.owner
        if owner is None:
            return True
        if peer_check(client_address, self.server_address[1], owner()):  # type: ignore[arg-type]
            self.api.accepted += 1
            return True
        self.api.refused += 1
        with contextlib.suppress(OSError):
            request.sendall(_REFUSAL)  # type: ignore[attr-defined]
        return False

    def handle_error(self, request: object, client_address: object) -> None:
        """A runtime killed mid-request (timeout, crash, OOM) resets its connection: expected,
        and the environment reports it; anything else is printed as usual."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Connection(socketserver.BaseRequestHandler):
    """One runtime connection: its requests read, answered and routed in one loop.

    Hand-written on the socket rather than on ``http.server``: a call is two requests on the
    engine's busiest threads, and the stdlib's (buffered file, ``email`` headers,
    ``send_response``) took ~0.15 ms of each here (h11: ~70 us for a request and its reply;
    this loop: ~5 us). It reads what a runtime sends: HTTP/1.0 or 1.1, ``Content-Length``
    bodies, ``Expect: 100-continue``, keep-alive; a malformed request line or header gets 400,
    too many or too long headers 431, and the connection is closed, as the stdlib does."""

    server: _Server

    def setup(self) -> None:
        # Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK add ~40 ms to a
        # reply that does not fill a segment.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray()
        self.keep_alive = True           # the last request's
        self.returned = False            # handed back by the caller that served it
        self.deadline: float | None = None   # while a caller serves it: its call's deadline
        self._holder = False

    def handle(self) -> None:
        while self.step() is not None:
            pass

    def step(self, holder: bool = False) -> bool | _Parked | None:
        """One request read, routed and answered: True; _PARKED when it was a ``next`` left
        parked (``holder``: for the next ``serve``; a server thread: answered by a caller, which
        then handed the connection back); None when the connection ended."""
        head = self._read_head()
        if head is None:
            return None
        request = self._parse(head)
        if request is None:
            return None
        method, path, headers, self.keep_alive = request
        body = self._read_body(headers)
        if body is _BAD_LENGTH:
            self._send(400, _json(_err("BadRequest", "invalid Content-Length")), close=True)
            return None
        self._holder = holder
        routed = self._route(method, path.split("?")[0], headers, body)
        if routed is _PARKED:
            return _PARKED
        status, payload, extra = routed
        if not self._send(status, payload, extra, close=not self.keep_alive):
            return None
        return True if self.keep_alive else None

    def pending_input(self) -> bool:
        return bool(self._buffer)

    def reply_next(self, invocation: Invocation) -> bool:
        """Answer the parked ``next`` with ``invocation`` (False: the runtime is gone)."""
        return self._send(*_next_reply(invocation), close=not self.keep_alive)

    # -- reading ---------------------------------------------------------------------------

    def _recv(self) -> bool:
        if self.deadline is None:
            chunk = self.request.recv(_RECV_CHUNK)
        else:
            # A caller serving the connection: never blocked past its call's deadline by a
            # runtime that stalls mid-request (one syscall when data is there, as it mostly is).
            try:
                chunk = self.request.recv(_RECV_CHUNK, socket.MSG_DONTWAIT)
            except BlockingIOError:
                if not select.select([self.request], [], [],
                                     max(self.deadline - time.monotonic(), 0))[0]:
                    raise TimeoutError("the runtime stalled mid-request") from None
                chunk = self.request.recv(_RECV_CHUNK, socket.MSG_DONTWAIT)
        self._buffer += chunk
        return bool(chunk)

    def _read_head(self) -> bytes | None:
        """The request line and headers (without the blank line), or None when the runtime
        closed the connection (or sent more head than allowed: answered 431 first)."""
        searched = 0
        while True:
            end = self._buffer.find(b"\n\r\n", searched)
            bare = self._buffer.find(b"\n\n", searched)
            if end >= 0 and (bare < 0 or end < bare):
                head, self._buffer = bytes(self._buffer[:end]), self._buffer[end + 3:]
                return head
            if bare >= 0:
                head, self._buffer = bytes(self._buffer[:bare]), self._buffer[bare + 2:]
                return head
            if len(self._buffer) > _MAX_HEAD:
                self._send(431, _json(_err("RequestHeaderFieldsTooLarge", "Too many headers")),
                           close=True)
                return None
            searched = max(0, len(self._buffer) - 2)
            if not self._recv():
                return None

    def _parse(self, head: bytes) -> tuple[str, str, dict[str, str], bool] | None:
        """Method, path, headers (names lower-cased) and whether to keep the connection; None
        after answering a malformed request (400) or too many headers (431)."""
        lines = head.decode("latin-1").split("\n")
        words = lines[0].rstrip("\r").split(" ")
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            self._send(400, _json(_err("BadRequest", "Bad request line")), close=True)
            return None
        if len(lines) > _MAX_HEADERS + 1:
            self._send(431, _json(_err("RequestHeaderFieldsTooLarge", "Too many headers")),
                       close=True)
            return None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.rstrip("\r").partition(":")
            if len(line) > _MAX_LINE or not colon or not name.strip() or name != name.strip():
                self._send(400, _json(_err("BadRequest", "Bad header line")), close=True)
                return None
            headers[name.lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        http10 = words[2] == "HTTP/1.0"
        keep_alive = connection != "close" and (not http10 or connection == "keep-alive")
        if not http10 and headers.get("expect", "").lower() == "100-continue":
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        return words[0], words[1], headers, keep_alive

    def _read_body(self, headers: dict[str, str]) -> bytes | None | object:
        """The body; None when it is over MAX_RESPONSE_BYTES (read and dropped, so the runtime
        sees our 413 rather than a broken pipe); _BAD_LENGTH for an unreadable length."""
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            return _BAD_LENGTH
        if length < 0:
            return _BAD_LENGTH
        keep = length <= MAX_RESPONSE_BYTES
        while len(self._buffer) < length:
            if not keep and len(self._buffer) >= _RECV_CHUNK:
                length -= len(self._buffer)
                self._buffer.clear()
            if not self._recv():
                raise ConnectionResetError("the runtime closed its connection mid-body")
        body, self._buffer = bytes(self._buffer[:length]), self._buffer[length:]
        return body if keep else None

    # -- routing ---------------------------------------------------------------------------

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes | None | object
               ) -> tuple[int, bytes, str] | _Parked:
        """Status, JSON body and any extra header lines of the answer to one request, or
        _PARKED (a ``next`` answered later, see ``step``)."""
        api = self.server.api
        if method == "GET":
            if path == _NEXT_PATH:
                return self._next(api)
            if path == _RESTORE_NEXT_PATH:
                return _answer(*api.restore_next())
            return _answer(404, _err("NotFound", f"unknown path {path}"))
        if method != "POST":
            return _answer(501, _err("NotImplemented", f"Unsupported method ({method!r})"))
        data = body if isinstance(body, bytes) else None
        if path in (_INIT_ERROR_PATH, _RESTORE_ERROR_PATH):
            error_type = headers.get(_ERROR_TYPE_KEY) or _error_type_of(data or b"")
            post = api.init_error if path == _INIT_ERROR_PATH else api.restore_error
            return _answer(*post(error_type or "Runtime.Unknown", data or b""))
        match = _INVOCATION_PATH.match(path)
        if match is None:
            return _answer(404, _err("NotFound", f"unknown path {path}"))
        request_id, what = match.groups()
        refused = api.check_answer(request_id)
        if refused is not None:
            return _answer(*refused)
        if what == "response":
            if data is None:
                return _answer(*api.answer(request_id, OutcomeKind.TOO_LARGE, b"",
                                           RESPONSE_TOO_LARGE))
            return _answer(*api.answer(request_id, OutcomeKind.RESPONSE, data, None))
        data = data or b""
        error_type = headers.get(_ERROR_TYPE_KEY) or _error_type_of(data) or "Runtime.Unknown"
        return _answer(*api.answer(request_id, OutcomeKind.ERROR, data, error_type))

    def _next(self, api: RuntimeAPI) -> tuple[int, bytes, str] | _Parked:
        result = api.next_invocation(self, self._holder)
        if result is _PARKED:
            return _PARKED
        status, body, invocation = result
        if invocation is None:
            return _answer(status, body)
        return _next_reply(invocation)

    # -- writing ---------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, extra: str = "", close: bool = False) -> bool:
        """The answer in one write (a write per part costs a syscall and a wake-up of the
        runtime each); no Server or Date header (the runtime reads neither). False when the
        runtime is gone (killed mid-request: the environment notices the exit)."""
        head = (f"HTTP/1.1 {status} {_PHRASES.get(status, '')}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}"
                f"{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n")
        try:
            self.request.sendall(head.encode("latin-1") + body)
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True


def _next_reply(invocation: Invocation) -> tuple[int, bytes, str]:
    """``next``'s answer: the event, and its Lambda-Runtime-* headers."""
    extra = (f"Lambda-Runtime-Aws-Request-Id: {invocation.request_id}\r\n"
             f"Lambda-Runtime-Deadline-Ms: {invocation.deadline_ms}\r\n"
             f"Lambda-Runtime-Invoked-Function-Arn: {invocation.function_arn}\r\n"
             f"Lambda-Runtime-Trace-Id: {invocation.trace_id}\r\n")
    if invocation.client_context is not None:
        extra += f"Lambda-Runtime-Client-Context: {json_header(invocation.client_context)}\r\n"
    if invocation.cognito_identity is not None:
        extra += f"Lambda-Runtime-Cognito-Identity: {json_header(invocation.cognito_identity)}\r\n"
    return 200, invocation.payload, extra


def _answer(status: int, body: dict[str, object]) -> tuple[int, bytes, str]:
    return status, _json(body), ""


def _json(body: dict[str, object]) -> bytes:
    return json.dumps(body).encode()


def json_header(text: str) -> str:
    """JSON text as a header value: ASCII on one line (``\\uXXXX`` escapes), which the runtime
    parses to the same object. Raw, a character outside Latin-1 cannot be sent at all and a line
    break in the JSON's whitespace would end the header. Text that is not JSON keeps its
    printable ASCII only."""
    if all(" " <= c <= "~" for c in text):
        return text
    try:
        return json.dumps(json.loads(text))
    except (ValueError, RecursionError):
        return "".join(c for c in text if " " <= c <= "~")


def _error_type_of(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("errorType")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
