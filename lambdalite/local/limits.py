"""Memory and CPU limits of an execution environment, and its measured peak memory.

Lambda gives a function ``MemorySize`` of memory and a CPU share proportional to it
(1,769 MB = one vCPU). We do the same with cgroups where the machine lets us:

* cgroup v1: a ``memory`` group (limit_in_bytes = MemorySize, swap included where accounted),
  a ``cpu`` group (cfs_quota_us / cfs_period_us = MemorySize / 1769) and a ``freezer`` group
  (used for freeze/thaw between invocations);
* cgroup v2: memory.max, memory.swap.max = 0, cpu.max, cgroup.freeze;
* otherwise (no writable cgroups, e.g. an unprivileged container): RLIMIT_AS with generous
  headroom (it counts virtual memory, which Python and native libraries reserve freely),
  RSS of the process tree polled against MemorySize, no CPU cap, SIGSTOP/SIGCONT to freeze.

``limits_notice`` says in one line which of these is in force.

Max Memory Used: Lambda reports the high-water mark of the execution environment (its peak
since INIT, so a warm call never reports less than the cold one before it). We report the same;
the per-invocation peak is also measured (``Sandbox.peak_since_reset``) for the JSON log.
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import signal
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from lambdalite.lambda_facts import MB, vcpus_for_memory

CGROUP_ROOT = Path("/sys/fs/cgroup")
CFS_PERIOD_US = 100_000
MIN_CFS_QUOTA_US = 1_000            # the kernel refuses quotas under 1 ms
RLIMIT_AS_HEADROOM = 4 * 1024 * MB  # virtual memory beyond MemorySize before malloc fails
FREEZE_WAIT_S = 2.0


class LimitsMode(Enum):
    CGROUP_V1 = "cgroup v1"
    CGROUP_V2 = "cgroup v2"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class LimitsPlan:
    """What one environment gets, computed from MemorySize alone (pure, unit-tested)."""

    memory_bytes: int
    cpu_quota_us: int | None        # None: no CPU cap
    cpu_period_us: int = CFS_PERIOD_US

    @property
    def vcpus(self) -> float:
        return (self.cpu_quota_us or 0) / self.cpu_period_us


def plan_limits(memory_mb: int, host_cpus: int | None = None) -> LimitsPlan:
    cpus = host_cpus or os.cpu_count() or 1
    vcpus = min(vcpus_for_memory(memory_mb), float(cpus))
    quota = max(MIN_CFS_QUOTA_US, round(vcpus * CFS_PERIOD_US))
    return LimitsPlan(memory_mb * MB, quota)


def limits_notice(mode: LimitsMode) -> str:
    if mode is LimitsMode.CGROUP_V1:
        return ("limits: cgroup v1 - memory capped at MemorySize, CPU share MemorySize/1769 vCPU "
                "(cfs quota), freezer between invocations")
    if mode is LimitsMode.CGROUP_V2:
        return ("limits: cgroup v2 - memory.max = MemorySize, cpu.max = MemorySize/1769 vCPU, "
                "cgroup.freeze between invocations")
    return ("limits: cgroups not writable here - memory enforced by polling RSS (+ RLIMIT_AS "
            "backstop), no CPU cap, SIGSTOP/SIGCONT between invocations; timings are optimistic")


def detect_mode(root: Path = CGROUP_ROOT) -> LimitsMode:
    """The strongest mechanism this machine lets us use (tries to create and remove a group)."""
    v1 = [_v1_base(root, c) for c in ("memory", "cpu", "freezer")]
    if all(b is not None for b in v1) and all(_can_mkdir(b) for b in v1 if b is not None):
        for base in v1:
            _sweep_stale(base)  # type: ignore[arg-type]
        return LimitsMode.CGROUP_V1
    v2 = _v2_base(root)
    if v2 is not None and _v2_usable(v2):
        _sweep_stale(v2)
        return LimitsMode.CGROUP_V2
    return LimitsMode.FALLBACK


class Sandbox:
    """The limits of one environment: set up before spawn, measured during, removed on close."""

    def __init__(self, name: str, plan: LimitsPlan, mode: LimitsMode,
                 root: Path = CGROUP_ROOT) -> None:
        # Unique on the machine: two engines in one process may both have an "Fn-1".
        self.name = f"{name}-{secrets.token_hex(4)}"
        self.plan = plan
        self.mode = mode
        self.pid: int | None = None
        self._dirs: list[Path] = []
        self._lifetime_peak = 0
        self._oom_baseline = 0
        if mode is LimitsMode.CGROUP_V1:
            self._setup_v1(root)
        elif mode is LimitsMode.CGROUP_V2:
            self._setup_v2(root)

    # -- spawn -----------------------------------------------------------------------------

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files the spawned process writes its pid to before exec."""
        return [str(d / "cgroup.procs") for d in self._dirs]

    def started(self, pid: int) -> None:
        self.pid = pid

    # -- freeze / thaw ------------------------------------------------------------------------

    def freeze(self) -> None:
        if self.mode is LimitsMode.CGROUP_V1:
            self._write(self._freezer, "freezer.state", "FROZEN")
            self._wait_file(self._freezer / "freezer.state", "FROZEN")
        elif self.mode is LimitsMode.CGROUP_V2:
            self._write(self._v2, "cgroup.freeze", "1")
            self._wait_file(self._v2 / "cgroup.events", "frozen 1")
        else:
            self._signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.mode is LimitsMode.CGROUP_V1:
            self._write(self._freezer, "freezer.state", "THAWED")
        elif self.mode is LimitsMode.CGROUP_V2:
            self._write(self._v2, "cgroup.freeze", "0")
        else:
            self._signal_group(signal.SIGCONT)

    # -- memory --------------------------------------------------------------------------------

    def current_bytes(self) -> int:
        if self.mode is LimitsMode.CGROUP_V1:
            return _read_int(self._memory / "memory.usage_in_bytes")
        if self.mode is LimitsMode.CGROUP_V2:
            return _read_int(self._v2 / "memory.current")
        return tree_rss_bytes(self.pid) if self.pid else 0

    def peak_since_reset(self) -> int:
        """Peak memory since the last ``reset_peak`` (or spawn); also feeds the lifetime peak."""
        # The cgroup is not charged for shared library pages the host had already cached
        # (libpython, numpy's .so ...), which Lambda's fresh microVM does count: take the
        # larger of the group's peak and the runtime process's own peak RSS (VmHWM).
        peak = max(self._polled_peak, _vm_hwm(self.pid))
        if self.mode is LimitsMode.CGROUP_V1:
            peak = max(peak, _read_int(self._memory / "memory.max_usage_in_bytes"))
        elif self.mode is LimitsMode.CGROUP_V2 and (self._v2 / "memory.peak").exists():
            peak = max(peak, _read_int(self._v2 / "memory.peak"))
        else:
            peak = max(peak, self.current_bytes())
        self._lifetime_peak = max(self._lifetime_peak, peak)
        return peak

    @property
    def lifetime_peak(self) -> int:
        return self._lifetime_peak

    def reset_peak(self) -> None:
        """Start a new per-invocation peak (the lifetime peak keeps its value)."""
        self.peak_since_reset()
        self._polled_peak = 0
        if self.mode is LimitsMode.CGROUP_V1:
            self._write(self._memory, "memory.max_usage_in_bytes", "0")
        elif self.mode is LimitsMode.CGROUP_V2:
            # Writable since Linux 6.12; on older kernels the peak stays the lifetime peak.
            with contextlib.suppress(OSError):
                self._write(self._v2, "memory.peak", "0")
        if self.pid:
            # "5" resets the process's peak RSS (VmHWM); see proc(5), /proc/pid/clear_refs.
            with contextlib.suppress(OSError):
                Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    _polled_peak = 0

    def poll(self) -> bool:
        """Fallback mode: sample RSS; True when the tree is over MemorySize (to be killed).
        With cgroups the kernel enforces the cap; this only samples for the peak."""
        if self.mode is not LimitsMode.FALLBACK or not self.pid:
            return False
        rss = tree_rss_bytes(self.pid)
        self._polled_peak = max(self._polled_peak, rss)
        return rss > self.plan.memory_bytes

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer struck in this group since the last call."""
        if self.mode is LimitsMode.CGROUP_V1:
            count = _field(self._memory / "memory.oom_control", "oom_kill")
            if count is None:   # old kernels: fall back on hitting the limit
                count = _read_int(self._memory / "memory.failcnt")
        elif self.mode is LimitsMode.CGROUP_V2:
            count = _field(self._v2 / "memory.events", "oom_kill") or 0
        else:
            return False
        hit, self._oom_baseline = count > self._oom_baseline, count
        return hit

    # -- teardown -----------------------------------------------------------------------------

    def kill_all(self) -> None:
        """SIGKILL every process left in the groups (children the runtime may have started)."""
        if self.mode is LimitsMode.CGROUP_V2 and (self._v2 / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                self._write(self._v2, "cgroup.kill", "1")
        for directory in self._dirs:
            for pid in _read_pids(directory / "cgroup.procs"):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        if self.mode is not LimitsMode.FALLBACK:
            self.thaw()   # frozen processes do not die until thawed

    def close(self) -> None:
        """Remove the groups (after the processes are gone); retries briefly while they exit."""
        for directory in reversed(self._dirs):
            for _ in range(50):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    time.sleep(0.02)
        self._dirs = []
        for parent in {d.parent for d in getattr(self, "_all_dirs", [])}:
            with contextlib.suppress(OSError):
                parent.rmdir()   # the per-engine folder, once its last environment is gone

    # -- internals ----------------------------------------------------------------------------

    def _setup_v1(self, root: Path) -> None:
        bases = {c: _v1_base(root, c) for c in ("memory", "cpu", "freezer")}
        made = {}
        for controller, base in bases.items():
            assert base is not None
            directory = base / f"lambdalite-{os.getpid()}" / self.name
            directory.mkdir(parents=True)
            made[controller] = directory
        self._memory, self._cpu, self._freezer = made["memory"], made["cpu"], made["freezer"]
        self._dirs = list(made.values())
        self._all_dirs = list(self._dirs)
        self._write(self._memory, "memory.limit_in_bytes", str(self.plan.memory_bytes))
        # Count swap too, so that the cap is a cap (absent when the kernel does not account swap).
        with contextlib.suppress(OSError):
            self._write(self._memory, "memory.memsw.limit_in_bytes", str(self.plan.memory_bytes))
        with contextlib.suppress(OSError):
            self._write(self._memory, "memory.swappiness", "0")
        if self.plan.cpu_quota_us is not None:
            self._write(self._cpu, "cpu.cfs_period_us", str(self.plan.cpu_period_us))
            self._write(self._cpu, "cpu.cfs_quota_us", str(self.plan.cpu_quota_us))

    def _setup_v2(self, root: Path) -> None:
        base = _v2_base(root)
        assert base is not None
        parent = base / f"lambdalite-{os.getpid()}"
        parent.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            self._write(parent, "cgroup.subtree_control", "+memory +cpu")
        self._v2 = parent / self.name
        self._v2.mkdir()
        self._dirs = [self._v2]
        self._all_dirs = list(self._dirs)
        self._write(self._v2, "memory.max", str(self.plan.memory_bytes))
        with contextlib.suppress(OSError):
            self._write(self._v2, "memory.swap.max", "0")
        if self.plan.cpu_quota_us is not None:
            self._write(self._v2, "cpu.max", f"{self.plan.cpu_quota_us} {self.plan.cpu_period_us}")

    @staticmethod
    def _write(directory: Path, name: str, value: str) -> None:
        (directory / name).write_text(value)

    @staticmethod
    def _wait_file(path: Path, wanted: str) -> None:
        # Freezing is asynchronous: the state reads FREEZING until every task has stopped.
        deadline = time.monotonic() + FREEZE_WAIT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if wanted in path.read_text():
                    return
            time.sleep(0.001)

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)


# -- cgroup discovery -------------------------------------------------------------------------

def _own_cgroup(controller: str) -> str | None:
    """This process's group in a v1 hierarchy (``controller``) or v2 (``""``)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or (controller == "" and controllers == ""):
            return path
    return None


def _v1_base(root: Path, controller: str) -> Path | None:
    mount = root / controller
    own = _own_cgroup(controller)
    if own is None or not (mount / "cgroup.procs").exists():
        return None
    base = mount / own.lstrip("/")
    return base if base.is_dir() else None


def _v2_base(root: Path) -> Path | None:
    if not (root / "cgroup.controllers").exists():
        return None
    own = _own_cgroup("")
    if own is None:
        return None
    base = root / own.lstrip("/")
    return base if base.is_dir() else None


def _sweep_stale(base: Path) -> None:
    """Remove the empty groups of lambdalite processes that died without closing."""
    for parent in base.glob("lambdalite-*"):
        pid = parent.name.removeprefix("lambdalite-")
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        for child in parent.iterdir():
            if child.is_dir():
                with contextlib.suppress(OSError):
                    child.rmdir()
        with contextlib.suppress(OSError):
            parent.rmdir()


def _can_mkdir(base: Path) -> bool:
    probe = base / f"lambdalite-probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return False
    return True


def _v2_usable(base: Path) -> bool:
    """v2 needs memory and cpu delegated to a group we can create children in."""
    probe = base / f"lambdalite-probe-{os.getpid()}"
    try:
        probe.mkdir()
        try:
            (probe / "cgroup.subtree_control").write_text("+memory +cpu")
            child = probe / "c"
            child.mkdir()
            ok = (child / "memory.max").exists() and (child / "cpu.max").exists()
            child.rmdir()
        finally:
            probe.rmdir()
    except OSError:
        return False
    return ok


# -- /proc helpers ----------------------------------------------------------------------------

def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants."""
    return sum(_rss(p) for p in _tree(pid))


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


def _vm_hwm(pid: int | None) -> int:
    """Peak RSS of the main process (VmHWM), to catch spikes between polls."""
    if not pid:
        return 0
    value = _field(Path(f"/proc/{pid}/status"), "VmHWM:")
    return (value or 0) * 1024


def _field(path: Path, name: str) -> int | None:
    try:
        for line in path.read_text().splitlines():
            parts = line.split()
            if parts and parts[0] == name:
                return int(parts[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


def _read_pids(path: Path) -> list[int]:
    try:
        return [int(p) for p in path.read_text().split()]
    except (OSError, ValueError):
        return []
