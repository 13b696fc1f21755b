"""FunctionPool: an environment that is being shut down stays listed until its process is
gone, so that ``LocalLambda.environments()`` never hides a process that still runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambdalite.local.engine_types import EnvState, FunctionSpec
from lambdalite.local.pool import FunctionPool

SPEC = FunctionSpec(name="Fn", handler="app.handler", code_dir=Path("."))


class SlowToStop:
    """An environment whose shutdown (a process exiting) lasts until the test lets it end."""

    def __init__(self, spec: FunctionSpec, env_id: str) -> None:
        self.id = env_id
        self.state = EnvState.IDLE
        self.alive = True
        self.last_used = 0.0
        self.stopping = threading.Event()
        self.may_stop = threading.Event()

    def shutdown(self) -> None:
        self.stopping.set()
        assert self.may_stop.wait(10)
        self.alive = False
        self.state = EnvState.DEFUNCT


def idle_pool() -> tuple[FunctionPool, Any]:
    pool = FunctionPool(SPEC, 1, SlowToStop)  # type: ignore[arg-type]
    env = pool.acquire()
    env.state = EnvState.IDLE           # as after a response
    pool.release(env)
    return pool, env


def crashed(pool: FunctionPool, env: Any) -> None:
    again = pool.acquire()
    assert again is env
    env.state = EnvState.BUSY           # released without answering: not reusable
    pool.release(env)


@pytest.mark.parametrize("stop", [
    lambda pool, env: pool.reclaim_idle(0.0, now=10.0),
    lambda pool, env: pool.close(),
    crashed,
], ids=["reclaim_idle", "close", "release-of-a-broken-one"])
def test_an_environment_is_listed_until_its_shutdown_is_done(
        stop: Callable[[FunctionPool, Any], object]) -> None:
    pool, env = idle_pool()
    stopping = threading.Thread(target=stop, args=(pool, env))
    stopping.start()
    assert env.stopping.wait(10)
    assert pool.environments() == [env]         # its process may still run
    env.may_stop.set()
    stopping.join(10)
    assert not stopping.is_alive()
    assert pool.environments() == []
