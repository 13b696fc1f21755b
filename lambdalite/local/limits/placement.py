"""Which host CPUs an environment's processes run on: CPUs of its own where the host has them.

    cpus = shared_placement().acquire(visible_vcpus(memory_mb))   # None: every CPU
    with spawning_on(cpus):
        proc = subprocess.Popen(...)                 # the runtime inherits the CPU set
    ...
    shared_placement().release(cpus)

On Lambda each environment is a microVM with vCPUs of its own: 2 from 128 to 3008 MB, one more
past 3008 MB and past each multiple of 1769 MB (``lambda_facts.visible_vcpus``), with a CPU
share of MemorySize/1769 of one spread over them. Here environments share the host's CPUs: a
1024 MB environment on a 16-CPU laptop could run on 16 (numpy's OpenBLAS would start a worker
for each, a thread pool sized by ``os.sched_getaffinity`` would be 8 times Lambda's), and the kernel
starts a new thread on whichever CPU is idlest, so the thread a python3.12+ runtime starts for
every call (awslambdaric polls ``next`` from a fresh one) lands where another environment runs
and two environments' warm calls stall each other (one CPU each for the measurement's sake,
MNIST at 1769 MB on 2 CPUs: 2 environments served 1.47-1.50x the calls/s of 1 unplaced,
1.60-1.70x placed; docs/LOCAL.md). So each environment gets as many host CPUs as Lambda shows
it, the least taken ones first, as the CPU affinity its runtime inherits at spawn
(``sched_setaffinity``: with or without cgroups, no ``preexec_fn``). Where the host has no more
CPUs than that (2-CPU hosts, always), every environment gets every CPU, as before; when more
environments run than the host has CPUs for, they share the least taken ones.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator

# sched_setaffinity is Linux's (and some BSDs'); elsewhere environments are not placed.
SUPPORTED = hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


class CpuPlacement:
    """Hands out sets of CPUs, counting how many environments hold each CPU."""

    def __init__(self, cpus: Iterable[int], start: int = 0) -> None:
        """``start``: the index among ``cpus`` of the first CPU handed out."""
        self.cpus = tuple(sorted(set(cpus)))
        if not self.cpus:
            raise ValueError("a placement needs at least one CPU")
        self._holders = dict.fromkeys(self.cpus, 0)
        self._next = start % len(self.cpus)   # where a tie's search starts: ties go round
        self._lock = threading.Lock()

    def acquire(self, wanted: int) -> frozenset[int] | None:
        """``wanted`` CPUs for an environment, or None for every CPU (``wanted`` is as many or
        more)."""
        if wanted >= len(self.cpus):
            return None
        wanted = max(1, wanted)
        with self._lock:
            count = len(self.cpus)
            order = sorted(range(count), key=lambda i: (self._holders[self.cpus[i]],
                                                        (i - self._next) % count))
            chosen = frozenset(self.cpus[i] for i in order[:wanted])
            for cpu in chosen:
                self._holders[cpu] += 1
            self._next = (order[wanted - 1] + 1) % count
            return chosen

    def release(self, cpus: frozenset[int] | None) -> None:
        if cpus is None:
            return
        with self._lock:
            for cpu in cpus:
                self._holders[cpu] = max(0, self._holders[cpu] - 1)

    def holders(self) -> dict[int, int]:
        """How many environments hold each CPU now."""
        with self._lock:
            return dict(self._holders)


_shared: CpuPlacement | None = None
_shared_lock = threading.Lock()


def shared_placement() -> CpuPlacement | None:
    """The one placement of this process (every engine in it shares the host's CPUs): the CPUs
    this process may run on, or None where CPU affinity cannot be set. Engines in other
    processes (xdist workers, a bench beside `local start-api`) keep their own counts: each
    process starts at another CPU (by its pid), so that they do not all crowd the first ones."""
    global _shared
    if not SUPPORTED:
        return None
    with _shared_lock:
        if _shared is None:
            _shared = CpuPlacement(os.sched_getaffinity(0), start=os.getpid())
        return _shared


@contextlib.contextmanager
def spawning_on(cpus: frozenset[int] | None) -> Iterator[None]:
    """The calling thread runs on ``cpus`` inside the block, so that a process it starts there
    starts on them (a child inherits its parent thread's affinity, and keeps it across exec);
    the thread's own affinity is restored after. ``None``: nothing changes."""
    if cpus is None or not SUPPORTED:
        yield
        return
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, cpus)
    except OSError:   # a CPU taken away since (cpuset): start the process unplaced
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
