"""The execution environments of one function: warm reuse, concurrency cap, idle reclaim.

Lambda counts concurrency as environments busy with an invocation. An idle (frozen)
environment is reused before a new one is started; when every allowed environment is busy, a
synchronous invoke is throttled (TooManyRequests) and an asynchronous one waits its turn.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from lambdalite.local.engine_types import EnvState, FunctionSpec
from lambdalite.local.environment import Environment
from lambdalite.local.errors import TooManyRequests

EnvironmentFactory = Callable[[FunctionSpec, str], Environment]


class FunctionPool:
    def __init__(self, spec: FunctionSpec, concurrency: int, factory: EnvironmentFactory) -> None:
        self.spec = spec
        self.concurrency = concurrency
        self._factory = factory
        self._idle: list[Environment] = []      # most recently used last
        self._busy: set[Environment] = set()
        # Being shut down (outside the lock: shutdown waits for the process to exit), and
        # still listed until it has: environments() never hides a process that runs.
        self._closing: set[Environment] = set()
        self._retired: set[Environment] = set()   # busy when their code changed: never reused
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._closed = False

    def acquire(self, wait: bool = False) -> Environment:
        """An environment for one invocation: the most recently used idle one, else a new one.
        ``wait``: block until one is free instead of raising TooManyRequests."""
        with self._cond:
            while True:
                if self._closed:
                    raise TooManyRequests(f"function {self.spec.name} is shutting down")
                env = self._take_idle()
                if env is None and len(self._busy) < self.concurrency:
                    env = self._factory(self.spec, f"{self.spec.name}-{next(self._ids)}")
                if env is not None:
                    env.state = EnvState.BUSY if env.state is EnvState.IDLE else env.state
                    self._busy.add(env)
                    return env
                if not wait:
                    raise self._throttled()
                self._cond.wait()

    def release(self, env: Environment) -> None:
        """Back to the idle list if it survived the invocation; otherwise forget it."""
        with self._cond:
            self._busy.discard(env)
            retired = env in self._retired
            self._retired.discard(env)
            kept = (env.alive and env.state is EnvState.IDLE and not self._closed
                    and not retired)
            doomed = not kept and env.state is not EnvState.DEFUNCT
            if kept:
                self._idle.append(env)
            elif doomed:
                self._closing.add(env)
            self._cond.notify_all()
        if doomed:
            self._shut_down([env])

    def reclaim_idle(self, idle_timeout_s: float, now: float | None = None) -> list[Environment]:
        """Shut down environments idle for longer than ``idle_timeout_s`` (scale to zero)."""
        now = time.monotonic() if now is None else now
        with self._cond:
            stale = [e for e in self._idle if now - e.last_used >= idle_timeout_s or not e.alive]
            self._idle = [e for e in self._idle if e not in stale]
            self._closing.update(stale)
        self._shut_down(stale)
        return stale

    def retire(self, spec: FunctionSpec | None = None) -> int:
        """Hot reload: no environment started so far is used again (idle ones are shut down
        now, busy ones when their call ends); with ``spec``, new ones run that. How many."""
        with self._cond:
            if spec is not None:
                self.spec = spec
            idle, self._idle = self._idle, []
            self._retired |= self._busy
            count = len(idle) + len(self._busy)
            self._closing.update(idle)
        self._shut_down(idle)
        return count

    def environments(self) -> list[Environment]:
        """Every environment with a process: idle, busy, or still shutting down."""
        with self._cond:
            return [*self._idle, *self._busy, *self._closing]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            envs = [*self._idle, *self._busy]
            self._idle, self._busy = [], set()
            self._closing.update(envs)
            self._cond.notify_all()
        self._shut_down(envs)

    def _shut_down(self, envs: list[Environment]) -> None:
        for env in envs:
            try:
                env.shutdown()
            finally:
                with self._cond:
                    self._closing.discard(env)

    def _throttled(self) -> TooManyRequests:
        if self.spec.reserved_concurrency:
            return TooManyRequests(
                f"Rate Exceeded: function {self.spec.name} already runs {self.concurrency} "
                "concurrent invocations (its ReservedConcurrentExecutions); retry, or raise it")
        return TooManyRequests(
            f"Rate Exceeded: function {self.spec.name} already runs {self.concurrency} "
            "concurrent invocations (the local cap standing in for the account's concurrency); "
            "retry, or raise --concurrency", reason="ConcurrentInvocationLimitExceeded")

    def _take_idle(self) -> Environment | None:
        while self._idle:
            env = self._idle.pop()
            if env.alive:
                return env
            env.shutdown()   # died while frozen: release its resources, never reuse it
        return None
