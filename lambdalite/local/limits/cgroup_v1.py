"""cgroup v1: one group per controller. ``memory`` (limit_in_bytes = MemorySize, swap included
where the kernel accounts it), ``cpu`` (cfs_quota_us / cfs_period_us = MemorySize / 1769 vCPU)
and ``freezer`` (frozen between invocations)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from lambdalite.local.limits.base import LimitsMode, LimitsPlan, read_field, read_int
from lambdalite.local.limits.cgroup import (
    CgroupSandbox,
    can_mkdir,
    engine_group,
    group_name,
    own_cgroup,
    remove_stale_groups,
    write,
)

CONTROLLERS = ("memory", "cpu", "freezer")


class CgroupV1Sandbox(CgroupSandbox):
    MODE = LimitsMode.CGROUP_V1
    NOTICE = ("limits: cgroup v1 - memory capped at MemorySize, CPU share MemorySize/1769 vCPU "
              "(cfs quota), freezer between invocations")

    def __init__(self, name: str, plan: LimitsPlan, bases: Mapping[str, Path]) -> None:
        """``bases``: the engine's own group in each of CONTROLLERS' hierarchies."""
        unique = group_name(name)
        self.memory, self.cpu, self.freezer = (engine_group(bases[c]) / unique
                                               for c in CONTROLLERS)
        super().__init__(plan, [self.memory, self.cpu, self.freezer])
        # The files of every call, as strings made once (see OpenFiles).
        self._state = str(self.freezer / "freezer.state")
        self._max_usage = str(self.memory / "memory.max_usage_in_bytes")
        for group in self.groups:
            group.mkdir(parents=True)
        write(self.memory, "memory.limit_in_bytes", str(plan.memory_bytes))
        # Count swap too, so that the cap is a cap (absent when the kernel does not account swap).
        with contextlib.suppress(OSError):
            write(self.memory, "memory.memsw.limit_in_bytes", str(plan.memory_bytes))
        with contextlib.suppress(OSError):
            write(self.memory, "memory.swappiness", "0")
        if plan.cpu_quota_us is not None:
            write(self.cpu, "cpu.cfs_period_us", str(plan.cpu_period_us))
            write(self.cpu, "cpu.cfs_quota_us", str(plan.cpu_quota_us))

    @classmethod
    def open(cls, name: str, plan: LimitsPlan, root: Path) -> Self:
        bases = controller_bases(root)
        if bases is None:
            raise OSError(f"cgroup v1 controllers {', '.join(CONTROLLERS)} not found in {root}")
        return cls(name, plan, bases)

    @staticmethod
    def usable(root: Path) -> bool:
        """Every controller mounted, and a group we may create children in."""
        bases = controller_bases(root)
        return bases is not None and all(can_mkdir(b) for b in bases.values())

    @staticmethod
    def sweep_stale(root: Path) -> None:
        for base in (controller_bases(root) or {}).values():
            remove_stale_groups(base)

    def freeze(self) -> None:
        self.files.write(self._state, "FROZEN")

    def thaw(self) -> None:
        self.files.write(self._state, "THAWED")

    def _measured_peak(self) -> int:
        return read_int(self._max_usage, self.files)

    def _reset_measured_peak(self) -> None:
        self.files.write(self._max_usage, "0")

    def _oom_kills(self) -> int:
        count = read_field(self.memory / "memory.oom_control", "oom_kill")
        if count is None:   # old kernels: fall back on hitting the limit
            count = read_int(self.memory / "memory.failcnt")
        return count


def controller_bases(root: Path) -> dict[str, Path] | None:
    """This process's group in each of CONTROLLERS' hierarchies, or None if one is missing."""
    bases = {}
    for controller in CONTROLLERS:
        base = _base(root, controller)
        if base is None:
            return None
        bases[controller] = base
    return bases


def _base(root: Path, controller: str) -> Path | None:
    mount = root / controller
    own = own_cgroup(controller)
    if own is None or not (mount / "cgroup.procs").exists():
        return None
    base = mount / own.lstrip("/")
    return base if base.is_dir() else None
