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
                    raise TooManyRequests(
                        f"Rate Exceeded: function {self.spec.name} already runs "
                        f"{self.concurrency} concurrent invocations (its reserved concurrency "
                        "locally); retry, or raise the limit")
                self._cond.wait()

    def release(self, env: Environment) -> None:
        """Back to the idle list if it survived the invocation; otherwise forget it."""
        with self._cond:
            self._busy.discard(env)
            retired = env in self._retired
            self._retired.discard(env)
            if env.alive and env.state is EnvState.IDLE and not self._closed and not retired:
                self._idle.append(env)
                env = None  # type: ignore[assignment]
            self._cond.notify_all()
        if env is not None and env.state is not EnvState.DEFUNCT:
            env.shutdown()

    def reclaim_idle(self, idle_timeout_s: float, now: float | None = None) -> list[Environment]:
        """Shut down environments idle for longer than ``idle_timeout_s`` (scale to zero)."""
        now = time.monotonic() if now is None else now
        with self._cond:
            stale = [e for e in self._idle if now - e.last_used >= idle_timeout_s or not e.alive]
            self._idle = [e for e in self._idle if e not in stale]
        for env in stale:
            env.shutdown()
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
        for env in idle:
            env.shutdown()
        return count

    def environments(self) -> list[Environment]:
        with self._cond:
            return [*self._idle, *self._busy]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            envs = [*self._idle, *self._busy]
            self._idle, self._busy = [], set()
            self._cond.notify_all()
        for env in envs:
            env.shutdown()

    def _take_idle(self) -> Environment | None:
        while self._idle:
            env = self._idle.pop()
            if env.alive:
                return env
            env.shutdown()   # died while frozen: release its resources, never reuse it
        return None
