"""Which limits mode this machine allows (the strongest first), its notice, and the sandbox of
one environment in that mode."""

from __future__ import annotations

from pathlib import Path

from lambdalite.local.limits.base import CGROUP_ROOT, LimitsMode, LimitsPlan, Sandbox
from lambdalite.local.limits.cgroup import CgroupSandbox
from lambdalite.local.limits.cgroup_v1 import CgroupV1Sandbox
from lambdalite.local.limits.cgroup_v2 import CgroupV2Sandbox
from lambdalite.local.limits.fallback import FallbackSandbox

SANDBOXES: dict[LimitsMode, type[Sandbox]] = {
    kind.MODE: kind for kind in (CgroupV1Sandbox, CgroupV2Sandbox, FallbackSandbox)}
# v1 first: on a hybrid host the v2 hierarchy usually has no controllers delegated to it.
_STRONGEST_FIRST: tuple[type[CgroupSandbox], ...] = (CgroupV1Sandbox, CgroupV2Sandbox)


def detect_mode(root: Path = CGROUP_ROOT) -> LimitsMode:
    """The strongest mechanism this machine lets us use (tries to create and remove a group);
    sweeps the groups that engines which died without closing left there."""
    for kind in _STRONGEST_FIRST:
        if kind.usable(root):
            kind.sweep_stale(root)
            return kind.MODE
    return LimitsMode.FALLBACK


def limits_notice(mode: LimitsMode) -> str:
    return SANDBOXES[mode].NOTICE


def open_sandbox(mode: LimitsMode, name: str, plan: LimitsPlan,
                 root: Path = CGROUP_ROOT) -> Sandbox:
    """The limits of environment ``name`` in ``mode`` (as ``detect_mode`` found it)."""
    return SANDBOXES[mode].open(name, plan, root)
