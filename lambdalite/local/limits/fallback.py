"""Without writable cgroups (an unprivileged container): RSS of the process tree polled against
MemorySize, RLIMIT_AS as a backstop, no CPU cap, SIGSTOP/SIGCONT of the process group to freeze.

RLIMIT_AS counts virtual memory, which Python and native libraries reserve generously, so it
gets 4 GiB of headroom above MemorySize; when it strikes, malloc fails and the runtime reports a
``MemoryError``, which the environment reports as Lambda's ``Runtime.OutOfMemory``.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from lambdalite.lambda_facts import MB
from lambdalite.local.limits.base import (
    LimitsMode,
    LimitsPlan,
    Sandbox,
    spawn_command,
    tree_rss_bytes,
)

RLIMIT_AS_HEADROOM = 4 * 1024 * MB  # virtual memory beyond MemorySize before malloc fails
POLL_S = 0.05                       # RSS sampling period


class FallbackSandbox(Sandbox):
    MODE = LimitsMode.FALLBACK
    NOTICE = ("limits: cgroups not writable here - memory enforced by polling RSS (+ RLIMIT_AS "
              "backstop), no CPU cap, SIGSTOP/SIGCONT between invocations; timings are optimistic")
    poll_interval_s = POLL_S

    def __init__(self, plan: LimitsPlan) -> None:
        super().__init__(plan)
        self._polled_peak = 0

    @classmethod
    def open(cls, name: str, plan: LimitsPlan, root: Path) -> Self:
        return cls(plan)   # nothing on the machine to name or find

    def command(self, runtime: Sequence[str]) -> list[str]:
        kib = (self.plan.memory_bytes + RLIMIT_AS_HEADROOM) // 1024
        return spawn_command(runtime, address_space_kib=kib)

    def freeze(self) -> None:
        self._signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_group(signal.SIGCONT)

    def _measured_peak(self) -> int:
        current = tree_rss_bytes(self.pid) if self.pid else 0
        return max(self._polled_peak, current)

    def _reset_measured_peak(self) -> None:
        self._polled_peak = 0

    def poll(self) -> bool:
        if not self.pid:
            return False
        rss = tree_rss_bytes(self.pid)
        self._polled_peak = max(self._polled_peak, rss)
        return rss > self.plan.memory_bytes

    def oom_killed(self) -> bool:
        return False   # no OOM killer of ours: poll() finds the excess instead

    def oom_error(self, error_type: str | None) -> bool:
        return error_type == "MemoryError"   # RLIMIT_AS: malloc fails instead of the OOM killer

    def kill_all(self) -> None:
        pass   # nothing to empty: the environment kills the runtime's process group itself

    def close(self) -> None:
        self.files.close()   # nothing else was created on the machine

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
