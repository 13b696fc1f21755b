"""Warm calls per second of the local engine, with 1 and with N environments, A/B in one run.

    figures = scaling(spec, payload, environments=(1, 2), rounds=3, calls=2000)

Each measurement is one ``LocalLambda`` whose function may run ``n`` environments at once,
and ``n`` client threads that call it back to back (synchronous invokes): first one call per
thread at the same moment, so that ``n`` environments start (their cold starts are not
counted), then ``calls`` warm calls shared by the threads, timed from the first to the last.
The settings alternate round by round (1, 2, 1, 2 ...) so that a machine whose load drifts
weighs on each alike; the figure of a setting is its median round.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from lambdalite.errors import LambdaliteError
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec


@dataclass(frozen=True)
class Round:
    environments: int
    calls: int
    seconds: float
    errors: int

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Scaling:
    memory_mb: int
    rounds: tuple[Round, ...]

    def median(self, environments: int) -> float | None:
        values = [r.calls_per_second for r in self.rounds if r.environments == environments]
        return statistics.median(values) if values else None

    def speedup(self, environments: int, base: int = 1) -> float | None:
        a, b = self.median(environments), self.median(base)
        return a / b if a is not None and b else None

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["calls_per_second"] = {str(r.environments): r.calls_per_second for r in self.rounds}
        return data


def measure_round(spec: FunctionSpec, payload: bytes, environments: int, calls: int) -> Round:
    """``calls`` warm calls from ``environments`` threads into as many environments."""
    engine = LocalLambda({spec.name: spec}, concurrency=environments)
    try:
        _start_environments(engine, spec.name, payload, environments)
        left = [calls]
        lock = threading.Lock()
        errors = [0]
        go = threading.Barrier(environments + 1)

        def client() -> None:
            go.wait()
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                try:
                    if engine.invoke(spec.name, payload).function_error:
                        with lock:
                            errors[0] += 1
                except LambdaliteError:
                    with lock:
                        errors[0] += 1

        threads = [threading.Thread(target=client, name=f"client-{i}", daemon=True)
                   for i in range(environments)]
        for thread in threads:
            thread.start()
        go.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        return Round(environments, calls, seconds, errors[0])
    finally:
        engine.close()


def scaling(spec: FunctionSpec, payload: bytes, *, environments: Sequence[int] = (1, 2),
            rounds: int = 3, calls: int = 2000) -> Scaling:
    """Each setting of ``environments`` measured ``rounds`` times, interleaved."""
    done = [measure_round(spec, payload, n, calls) for _ in range(rounds) for n in environments]
    return Scaling(spec.memory_mb, tuple(done))


def _start_environments(engine: LocalLambda, function: str, payload: bytes,
                        environments: int) -> None:
    """One call per thread, all at once: ``environments`` cold starts, then all are warm."""
    barrier = threading.Barrier(environments)
    failures: list[str] = []

    def first() -> None:
        barrier.wait()
        result = engine.invoke(function, payload)
        if result.function_error:
            failures.append(result.payload.decode("utf-8", "replace")[:300])

    threads = [threading.Thread(target=first, daemon=True) for _ in range(environments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise LambdaliteError(f"the function failed its first call: {failures[0]}")
    live = len(engine.environments(function))
    if live != environments:
        raise LambdaliteError(f"{environments} environments were asked for, {live} started")
