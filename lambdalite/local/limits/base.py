"""What every limits mode shares: the plan, the ``Sandbox`` protocol, the spawn wrapper and the
/proc readings (``/proc/<pid>/statm``, ``status``, ``clear_refs``) that work in any mode."""

from __future__ import annotations

import contextlib
import os
import resource
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import ClassVar, Self

from lambdalite.lambda_facts import MB, vcpus_for_memory

CGROUP_ROOT = Path("/sys/fs/cgroup")
# Lambda's throttling period, as measured on Lambda itself: a CPU-bound function at 1024 MB is
# paused every ~20 ms after ~11.6 ms of CPU (0.58 vCPU), and at 128 MB its pauses come in
# 20 ms steps (pwrdrvr/lambda-throttling's published timelines, 2025-03; AWS documents the
# share, not the period). The kernel's default, 100 ms, would let a call run 57.9 ms unthrottled
# at 1024 MB and then stall it 42 ms: averages alike, single Durations and cold starts not.
CFS_PERIOD_US = 20_000
MIN_CFS_QUOTA_US = 1_000            # the kernel refuses quotas under 1 ms


class LimitsMode(Enum):
    CGROUP_V1 = "cgroup v1"
    CGROUP_V2 = "cgroup v2"
    FALLBACK = "fallback"
    UNMEASURED = "unmeasured"


@dataclass(frozen=True)
class LimitsPlan:
    """What one environment gets, computed from MemorySize alone (pure, unit-tested)."""

    memory_bytes: int
    cpu_quota_us: int | None        # None: no CPU cap
    cpu_period_us: int = CFS_PERIOD_US

    @property
    def vcpus(self) -> float:
        return (self.cpu_quota_us or 0) / self.cpu_period_us


def plan_limits(memory_mb: int, host_cpus: int | None = None,
                period_us: int = CFS_PERIOD_US) -> LimitsPlan:
    """MemorySize -> memory and CPU share; ``period_us`` other than Lambda's only for A/B runs
    (``tools/bench_cfs_period.py``)."""
    cpus = host_cpus or os.cpu_count() or 1
    vcpus = min(vcpus_for_memory(memory_mb), float(cpus))
    quota = max(MIN_CFS_QUOTA_US, round(vcpus * period_us))
    return LimitsPlan(memory_mb * MB, quota, period_us)


class Sandbox(ABC):
    """The limits of one environment: set up before spawn, measured during, removed on close.

    The protocol ``Environment`` talks to; one subclass per ``LimitsMode``. What the modes
    share (the runtime's pid, the lifetime peak, VmHWM) lives here; each subclass holds only
    its own state.
    """

    MODE: ClassVar[LimitsMode]
    NOTICE: ClassVar[str]                       # ``limits_notice``: what is enforced, one line
    poll_interval_s: ClassVar[float | None] = None   # None: the kernel enforces, nothing to poll
    measures_memory: ClassVar[bool] = True          # False: Max Memory Used is unmeasured (None)

    def __init__(self, plan: LimitsPlan) -> None:
        self.plan = plan
        self.pid: int | None = None
        self._lifetime_peak = 0
        self.files = OpenFiles()     # the files read and written on every invocation
        self._status = self._clear_refs = ""

    @classmethod
    def notice(cls, root: Path = CGROUP_ROOT) -> str:
        """One line: what this mode enforces and measures on this host, and what it does not."""
        return cls.NOTICE

    @classmethod
    @abstractmethod
    def open(cls, name: str, plan: LimitsPlan, root: Path) -> Self:
        """The limits of the environment ``name`` (unique per engine), ready for a spawn."""

    # -- spawn ---------------------------------------------------------------------------------

    @abstractmethod
    def command(self, runtime: Sequence[str]) -> list[str]:
        """``runtime`` wrapped so that it starts inside its limits (see ``spawn_command``)."""

    def started(self, pid: int) -> None:
        self.pid = pid
        # Built once: a path made per call (pathlib) cost more than the read it names.
        self._status = f"/proc/{pid}/status"
        self._clear_refs = f"/proc/{pid}/clear_refs"

    def pids(self) -> list[int]:
        """The environment's processes: the runtime and its descendants."""
        return _tree(self.pid) if self.pid else []

    # -- freeze / thaw ---------------------------------------------------------------------------

    @abstractmethod
    def freeze(self) -> None:
        """Start freezing the environment and return: a cgroup freezes asynchronously, within
        microseconds for a runtime blocked in ``next``; nobody needs to wait for it between
        two invocations (the next ``offer`` waited for it, under the Runtime API's lock, at
        up to a few ms a call on a busy host), and a thaw written meanwhile cancels it."""

    @abstractmethod
    def thaw(self) -> None: ...

    # -- memory ----------------------------------------------------------------------------------

    def peak_since_reset(self) -> int:
        """Peak memory since the last ``reset_peak`` (or spawn); also feeds the lifetime peak."""
        # The cgroup is not charged for shared library pages the host had already cached
        # (libpython, numpy's .so ...), which Lambda's fresh microVM does count: take the
        # larger of the mode's own peak and the runtime process's own peak RSS (VmHWM).
        peak = max(self._measured_peak(), self._vm_hwm())
        self._lifetime_peak = max(self._lifetime_peak, peak)
        return peak

    @property
    def lifetime_peak(self) -> int:
        return self._lifetime_peak

    def reset_peak(self) -> int:
        """Start a new per-invocation peak (the lifetime peak keeps its value); the peak
        since the last reset, read on the way (an invocation's end reads and resets at once)."""
        peak = self.peak_since_reset()
        self._reset_measured_peak()
        if self.pid:
            with contextlib.suppress(OSError):
                self.files.write(self._clear_refs, CLEAR_HWM)
        return peak

    def _vm_hwm(self) -> int:
        """The runtime's VmHWM in bytes, from its open status file (0 when it is gone)."""
        if not self.pid:
            return 0
        try:
            return hwm_from_status(self.files.read_bytes(self._status))
        except OSError:
            return 0

    @abstractmethod
    def _measured_peak(self) -> int:
        """The mode's own reading of the peak since the last reset."""

    @abstractmethod
    def _reset_measured_peak(self) -> None: ...

    def poll(self) -> bool:
        """Sample memory between events; True when the environment is over MemorySize and must
        be killed. Where the kernel enforces the cap there is nothing to sample."""
        return False

    @abstractmethod
    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer struck in this environment since the last call."""

    def oom_error(self, error_type: str | None) -> bool:
        """Whether a function error of this type is the memory cap striking."""
        return False

    # -- teardown --------------------------------------------------------------------------------

    @abstractmethod
    def kill_all(self) -> None:
        """SIGKILL whatever the limits still hold (children the runtime may have started)."""

    @abstractmethod
    def close(self) -> None:
        """Release the limits once the processes are gone."""


def spawn_command(runtime: Sequence[str], procs_files: Sequence[Path] = (),
                  address_space_kib: int | None = None) -> list[str]:
    """``sh`` joins the cgroups (writes its pid to each ``cgroup.procs``), sets RLIMIT_AS, then
    execs the runtime: no user code runs outside its limits, and no preexec_fn (unsafe with
    threads)."""
    script = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 111; shift; done; shift; '
    if address_space_kib is not None:
        script += f"ulimit -v {address_space_kib} || exit 111; "
    script += 'exec "$@"'
    return ["/bin/sh", "-c", script, "sh", *map(str, procs_files), "--", *runtime]


# -- /proc helpers ------------------------------------------------------------------------------

def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants."""
    return sum(_rss(p) for p in _tree(pid))


_KERNEL_FILES = ("/proc/", "/sys/")
CLEAR_HWM = "5"   # written to /proc/<pid>/clear_refs: resets VmHWM; see proc(5)
_VM_HWM = b"\nVmHWM:"


def hwm_from_status(status: bytes) -> int:
    """VmHWM in bytes from a /proc/<pid>/status text (0 when absent): one find, no line split
    (it is read at every call's end, and the file has ~55 lines)."""
    start = status.find(_VM_HWM)
    if start < 0:
        return 0
    end = status.find(b"kB", start)
    try:
        return int(status[start + len(_VM_HWM):end]) * 1024
    except ValueError:
        return 0


class OpenFiles:
    """The cgroup and /proc files an environment reads and writes on every invocation (its
    memory peak, VmHWM, freezer), kept open: read again with one ``pread`` at offset 0 (the
    kernel makes their text anew on each read), written with one ``write``. Measured here:
    ~15 us a read against ~30-80 us through pathlib's open/read/close, at ~8 of them per call
    on the engine's busiest thread. A file that fails (its process or group is gone) is closed
    and opened again next time."""

    def __init__(self) -> None:
        self._fds: dict[tuple[str, int], int] = {}
        self._plain: set[int] = set()     # fds of files outside /proc and /sys
        self._lock = threading.Lock()

    def read(self, path: str | Path) -> str:
        return self.read_bytes(path).decode()

    def read_bytes(self, path: str | Path) -> bytes:
        fd = self._fd(path, os.O_RDONLY)
        try:
            return os.pread(fd, 1 << 16, 0)
        except OSError:
            self._drop(path, os.O_RDONLY)
            raise

    def write(self, path: str | Path, text: str) -> None:
        fd = self._fd(path, os.O_WRONLY)
        data = text.encode()
        try:
            os.pwrite(fd, data, 0)
        except OSError:
            self._drop(path, os.O_WRONLY)
            raise
        # cgroup and /proc files take each write whole, wherever it lands; a plain file (the
        # unit tests' stand-in for a cgroup) must not keep a longer old value's tail. Kernel
        # files skip the call: each syscall on the engine's busiest threads may hand the GIL over.
        if fd in self._plain:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, len(data))

    def close(self) -> None:
        with self._lock:
            fds, self._fds = list(self._fds.values()), {}
            self._plain.clear()
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _fd(self, path: str | Path, flags: int) -> int:
        key = (os.fspath(path), flags)
        fd = self._fds.get(key)
        if fd is None:
            with self._lock:
                fd = self._fds.get(key)
                if fd is None:
                    fd = self._fds[key] = os.open(path, flags | os.O_CLOEXEC | (
                        os.O_CREAT if flags & os.O_WRONLY else 0), 0o644)
                    if not key[0].startswith(_KERNEL_FILES):
                        self._plain.add(fd)
        return fd

    def _drop(self, path: str | Path, flags: int) -> None:
        with self._lock:
            fd = self._fds.pop((os.fspath(path), flags), None)
            self._plain.discard(fd or -1)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def read_text(path: str | Path, files: OpenFiles | None = None) -> str:
    return files.read(path) if files else Path(path).read_text()


def read_field(path: str | Path, name: str, files: OpenFiles | None = None) -> int | None:
    """The number after ``name`` in a ``key value`` file (``memory.events``, ``status``)."""
    try:
        for line in read_text(path, files).splitlines():
            parts = line.split()
            if parts and parts[0] == name:
                return int(parts[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def read_int(path: str | Path, files: OpenFiles | None = None) -> int:
    try:
        return int(read_text(path, files).strip())
    except (OSError, ValueError):
        return 0


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return pids


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * resource.getpagesize()
    except (OSError, IndexError, ValueError):
        return 0
