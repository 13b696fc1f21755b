"""cgroup v2, where memory and cpu are delegated to us: one group with ``memory.max`` =
MemorySize, ``memory.swap.max`` = 0, ``cpu.max`` = MemorySize / 1769 vCPU, and ``cgroup.freeze``
between invocations."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Self

from lambdalite.local.limits.base import CGROUP_ROOT, LimitsMode, LimitsPlan, read_field, read_int
from lambdalite.local.limits.cgroup import (
    CgroupSandbox,
    engine_group,
    group_name,
    own_cgroup,
    probe_group,
    remove_stale_groups,
    write,
)


class CgroupV2Sandbox(CgroupSandbox):
    MODE = LimitsMode.CGROUP_V2
    NOTICE = ("limits: cgroup v2 - memory.max = MemorySize, cpu.max = MemorySize/1769 vCPU, "
              "cgroup.freeze between invocations")

    def __init__(self, name: str, plan: LimitsPlan, base: Path) -> None:
        """``base``: the engine's own (delegated) group in the unified hierarchy."""
        parent = engine_group(base)
        self.group = parent / group_name(name)
        super().__init__(plan, [self.group])
        self._peak_file: str | None = None
        self._peak_resettable = True
        # The files of every call, as strings made once (see OpenFiles).
        self._freeze_file = str(self.group / "cgroup.freeze")
        self._peak_reset_file = str(self.group / "memory.peak")
        parent.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            write(parent, "cgroup.subtree_control", "+memory +cpu")
        self.group.mkdir()
        write(self.group, "memory.max", str(plan.memory_bytes))
        with contextlib.suppress(OSError):
            write(self.group, "memory.swap.max", "0")
        if plan.cpu_quota_us is not None:
            write(self.group, "cpu.max", f"{plan.cpu_quota_us} {plan.cpu_period_us}")

    @classmethod
    def notice(cls, root: Path = CGROUP_ROOT, release: str | None = None) -> str:
        """The v2 files this kernel lacks say what is not measured (``release``: uname -r)."""
        kernel = tuple(int(n) for n in re.findall(r"\d+", release or os.uname().release)[:2])
        if kernel < (5, 19):
            return (cls.NOTICE + "; not measured: the environment's own peak (no memory.peak "
                    "before Linux 5.19): Max Memory Used is the runtime process's peak RSS "
                    "(VmHWM), its children and page cache not counted")
        if kernel < (6, 12):
            return (cls.NOTICE + "; not measured: the peak of one call alone (memory.peak "
                    "cannot be reset before Linux 6.12): the JSON log's invocation_peak_mb is "
                    "the environment's peak")
        return cls.NOTICE

    @classmethod
    def open(cls, name: str, plan: LimitsPlan, root: Path) -> Self:
        base = unified_base(root)
        if base is None:
            raise OSError(f"no cgroup v2 hierarchy of this process in {root}")
        return cls(name, plan, base)

    @staticmethod
    def usable(root: Path) -> bool:
        """memory and cpu delegated to a group we may create children in."""
        base = unified_base(root)
        if base is None:
            return False
        probe = probe_group(base)
        try:
            probe.mkdir()
            try:
                write(probe, "cgroup.subtree_control", "+memory +cpu")
                child = probe / "c"
                child.mkdir()
                ok = (child / "memory.max").exists() and (child / "cpu.max").exists()
                child.rmdir()
            finally:
                probe.rmdir()
        except OSError:
            return False
        return ok

    @staticmethod
    def sweep_stale(root: Path) -> None:
        base = unified_base(root)
        if base is not None:
            remove_stale_groups(base)

    def freeze(self) -> None:
        self.files.write(self._freeze_file, "1")

    def thaw(self) -> None:
        self.files.write(self._freeze_file, "0")

    def _measured_peak(self) -> int:
        if self._peak_file is None:
            # memory.peak exists since Linux 5.19; before it, the current usage is all there is.
            peak = self.group / "memory.peak"
            self._peak_file = str(peak if peak.exists() else self.group / "memory.current")
        return read_int(self._peak_file, self.files)

    def _reset_measured_peak(self) -> None:
        # Writable since Linux 6.12; on older kernels the peak stays the lifetime peak (and
        # the write is not tried again).
        if self._peak_resettable:
            try:
                self.files.write(self._peak_reset_file, "0")
            except OSError:
                self._peak_resettable = False

    def _oom_kills(self) -> int:
        return read_field(self.group / "memory.events", "oom_kill") or 0

    def kill_all(self) -> None:
        # cgroup.kill (Linux 5.14) kills every process of the group at once, forks included.
        if (self.group / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                write(self.group, "cgroup.kill", "1")
        super().kill_all()


def unified_base(root: Path) -> Path | None:
    """This process's group in the v2 hierarchy mounted at ``root``."""
    if not (root / "cgroup.controllers").exists():
        return None
    own = own_cgroup("")
    if own is None:
        return None
    base = root / own.lstrip("/")
    return base if base.is_dir() else None
