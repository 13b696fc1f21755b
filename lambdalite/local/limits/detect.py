"""Which limits mode this machine allows (the strongest first), its notice, and the sandbox of
one environment in that mode."""

from __future__ import annotations

import sys
from pathlib import Path

from lambdalite.local.limits.base import CGROUP_ROOT, LimitsMode, LimitsPlan, Sandbox
from lambdalite.local.limits.cgroup import CgroupSandbox
from lambdalite.local.limits.cgroup_v1 import CgroupV1Sandbox
from lambdalite.local.limits.cgroup_v2 import CgroupV2Sandbox
from lambdalite.local.limits.fallback import FallbackSandbox
from lambdalite.local.limits.unmeasured import UnmeasuredSandbox

PROC_ROOT = Path("/proc")
SANDBOXES: dict[LimitsMode, type[Sandbox]] = {
    kind.MODE: kind for kind in (CgroupV1Sandbox, CgroupV2Sandbox, FallbackSandbox,
                                 UnmeasuredSandbox)}
# v1 first: on a hybrid host the v2 hierarchy usually has no controllers delegated to it.
_STRONGEST_FIRST: tuple[type[CgroupSandbox], ...] = (CgroupV1Sandbox, CgroupV2Sandbox)


def detect_mode(root: Path = CGROUP_ROOT, proc: Path = PROC_ROOT,
                platform: str = sys.platform) -> LimitsMode:
    """The strongest mechanism this machine lets us use (tries to create and remove a group);
    sweeps the groups that engines which died without closing left there. Without a procfs
    (not Linux, or /proc hidden), memory cannot even be measured: UNMEASURED."""
    if not platform.startswith("linux") or not (proc / "self" / "status").is_file():
        return LimitsMode.UNMEASURED
    for kind in _STRONGEST_FIRST:
        if kind.usable(root):
            kind.sweep_stale(root)
            return kind.MODE
    return LimitsMode.FALLBACK


def limits_notice(mode: LimitsMode, root: Path = CGROUP_ROOT) -> str:
    """What ``mode`` enforces and measures here, and what it does not, in one line."""
    return SANDBOXES[mode].notice(root)


def open_sandbox(mode: LimitsMode, name: str, plan: LimitsPlan,
                 root: Path = CGROUP_ROOT) -> Sandbox:
    """The limits of environment ``name`` in ``mode`` (as ``detect_mode`` found it)."""
    return SANDBOXES[mode].open(name, plan, root)
