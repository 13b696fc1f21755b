"""Warm calls per second of the local engine, with 1 and with N environments, A/B in one run.

    figures = scaling(spec, payload, environments=(1, 2), rounds=3, calls=2000)

Each measurement is one ``LocalLambda`` whose function may run ``n`` environments at once,
and ``n`` client threads that call it back to back (synchronous invokes): first one call per
thread at the same moment, so that ``n`` environments start (their cold starts are not
counted), then ``calls`` warm calls shared by the threads, timed from the first to the last.
The settings alternate round by round (1, 2, 1, 2 ...) so that a machine whose load drifts
weighs on each alike; the figure of a setting is its median round.

Each round also counts CPU time over its warm calls, so that a ratio's cause is visible even on
a loaded machine (wall time is not, CPU time per call mostly is): the engine process's
(``getrusage(RUSAGE_SELF)``: every thread, client threads included), per thread group (from
``/proc/self/task/<tid>/schedstat``, by thread name), and the runtime processes' (each of their
threads' ``schedstat``: ``RUSAGE_CHILDREN`` counts only children that have exited).
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import statistics
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lambdalite.errors import LambdaliteError
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec


@dataclass(frozen=True)
class Round:
    environments: int
    calls: int
    seconds: float
    errors: int
    engine_cpu_s: float | None = None      # the engine process, every thread, over the calls
    runtime_cpu_s: float | None = None     # the environments' runtime processes, summed
    threads: dict[str, float] = field(default_factory=dict)   # engine CPU by thread group

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    @property
    def engine_ms_per_call(self) -> float | None:
        return None if self.engine_cpu_s is None else self.engine_cpu_s * 1000 / self.calls

    @property
    def runtime_ms_per_call(self) -> float | None:
        return None if self.runtime_cpu_s is None else self.runtime_cpu_s * 1000 / self.calls


@dataclass(frozen=True)
class Scaling:
    memory_mb: int
    rounds: tuple[Round, ...]

    def median(self, environments: int) -> float | None:
        values = [r.calls_per_second for r in self.rounds if r.environments == environments]
        return statistics.median(values) if values else None

    def cpu_ms_per_call(self, environments: int) -> tuple[float, float] | None:
        """Median engine and runtime CPU ms per call of the setting's rounds (None: not
        counted)."""
        rounds = [r for r in self.rounds if r.environments == environments
                  and r.engine_ms_per_call is not None and r.runtime_ms_per_call is not None]
        if not rounds:
            return None
        return (statistics.median(r.engine_ms_per_call or 0.0 for r in rounds),
                statistics.median(r.runtime_ms_per_call or 0.0 for r in rounds))

    def speedup(self, environments: int, base: int = 1) -> float | None:
        a, b = self.median(environments), self.median(base)
        return a / b if a is not None and b else None

    def to_dict(self) -> dict[str, object]:
        """The rounds as measured, and each setting's calls/s round by round and its median."""
        data = asdict(self)
        settings = sorted({r.environments for r in self.rounds})
        data["calls_per_second"] = {
            str(n): [r.calls_per_second for r in self.rounds if r.environments == n]
            for n in settings}
        data["median_calls_per_second"] = {str(n): self.median(n) for n in settings}
        return data


def measure_round(spec: FunctionSpec, payload: bytes, environments: int, calls: int, *,
                  cpu_placement: bool = True) -> Round:
    """``calls`` warm calls from ``environments`` threads into as many environments;
    ``cpu_placement``: the engine's (``LocalLambda``), off only for A/B runs."""
    engine = LocalLambda({spec.name: spec}, concurrency=environments,
                         cpu_placement=cpu_placement)
    try:
        _start_environments(engine, spec.name, payload, environments)
        left = [calls]
        lock = threading.Lock()
        errors = [0]
        go = threading.Barrier(environments + 1)

        clients: list[float] = []    # each client thread's CPU seconds (they end before
                                     # the round's closing sample)

        def client() -> None:
            go.wait()
            began = time.thread_time()
            try:
                calls_until_done()
            finally:
                with lock:
                    clients.append(time.thread_time() - began)

        def calls_until_done() -> None:
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
        pids = [e.pid for e in engine.environments(spec.name) if e.pid]
        go.wait()
        before = CpuSample.take(pids)
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        used = CpuSample.take(pids).since(before)
        used.threads["client"] = sum(clients)
        return Round(environments, calls, seconds, errors[0], used.engine_s, used.runtime_s,
                     used.threads)
    finally:
        engine.close()


def scaling(spec: FunctionSpec, payload: bytes, *, environments: Sequence[int] = (1, 2),
            rounds: int = 3, calls: int = 2000, cpu_placement: bool = True) -> Scaling:
    """Each setting of ``environments`` measured ``rounds`` times, interleaved."""
    done = [measure_round(spec, payload, n, calls, cpu_placement=cpu_placement)
            for _ in range(rounds) for n in environments]
    return Scaling(spec.memory_mb, tuple(done))


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_THREAD_NUMBER = re.compile(r"[-_ ]?\d+\b.*$")    # "client-1", "Thread-7 (process_request...)"


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by the engine (all threads, and by thread group) and by the
    runtime processes ``pids``."""

    engine_s: float
    runtime_s: float
    threads: dict[str, float]

    @classmethod
    def take(cls, pids: Iterable[int]) -> CpuSample:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(usage.ru_utime + usage.ru_stime, sum(map(_process_cpu_s, pids)),
                   thread_groups())

    def since(self, before: CpuSample) -> CpuSample:
        # A thread that ended during the calls drops out of its group's sum: clamp at zero.
        groups = {name: max(0.0, s - before.threads.get(name, 0.0))
                  for name, s in self.threads.items()}
        return CpuSample(self.engine_s - before.engine_s, self.runtime_s - before.runtime_s,
                         groups)


def thread_groups() -> dict[str, float]:
    """CPU seconds of this process's live Python threads, summed by name without its number
    ("client", "runtime-api", "Thread (process_request_thread)" ...)."""
    groups: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        name = _THREAD_NUMBER.sub("", thread.name) or thread.name
        if "process_request_thread" in thread.name:
            name = "runtime-api request"
        seconds = _thread_cpu_s(f"/proc/self/task/{thread.native_id}")
        groups[name] = groups.get(name, 0.0) + seconds
    return groups


def _process_cpu_s(pid: int) -> float:
    """CPU seconds of every thread of ``pid`` (0 when it is gone)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    return sum(_thread_cpu_s(f"/proc/{pid}/task/{tid}") for tid in tids)


def _thread_cpu_s(task: str) -> float:
    """A thread's CPU seconds: ``schedstat``'s nanoseconds on a CPU where the kernel keeps
    them, else ``stat``'s utime + stime (clock ticks: too coarse for a short round)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"{task}/schedstat").read_text().split()[0]) / 1e9
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"{task}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return 0.0


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
