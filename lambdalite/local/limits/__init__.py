"""Memory and CPU limits of an execution environment, and its measured peak memory.

Lambda gives a function ``MemorySize`` of memory and a CPU share proportional to it
(1,769 MB = one vCPU). We do the same with cgroups where the machine lets us, one class per
mode behind one protocol (``base.Sandbox``):

* ``cgroup_v1``: memory, cpu and freezer groups;
* ``cgroup_v2``: memory.max, memory.swap.max = 0, cpu.max, cgroup.freeze;
* ``fallback`` (no writable cgroups, e.g. an unprivileged container): RSS polling with an
  RLIMIT_AS backstop, no CPU cap, SIGSTOP/SIGCONT to freeze.

``detect.detect_mode`` picks the strongest mode; ``limits_notice`` says in one line which one is
in force; ``open_sandbox`` makes one environment's limits.

Max Memory Used: Lambda reports the high-water mark of the execution environment (its peak
since INIT, so a warm call never reports less than the cold one before it). We report the same
(``Sandbox.lifetime_peak``); the per-invocation peak (``Sandbox.peak_since_reset``) goes to the
JSON log.
"""

from lambdalite.local.limits.base import (
    CFS_PERIOD_US,
    LimitsMode,
    LimitsPlan,
    Sandbox,
    plan_limits,
)
from lambdalite.local.limits.detect import detect_mode, limits_notice, open_sandbox

__all__ = [
    "CFS_PERIOD_US",
    "LimitsMode",
    "LimitsPlan",
    "Sandbox",
    "detect_mode",
    "limits_notice",
    "open_sandbox",
    "plan_limits",
]
