"""Where there is no procfs and no cgroup (macOS, a BSD, Linux with /proc hidden): nothing caps
or measures memory or CPU, so Max Memory Used is reported as unmeasured (None; ``n/a`` in the
REPORT line), never as 0. Between invocations the process group is stopped (SIGSTOP/SIGCONT),
which every POSIX system has."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from lambdalite.local.limits.base import LimitsMode, LimitsPlan, Sandbox, spawn_command


class UnmeasuredSandbox(Sandbox):
    MODE = LimitsMode.UNMEASURED
    NOTICE = ("limits: none on this host (no /proc, no cgroups) - memory neither capped nor "
              "measured (Max Memory Used: n/a), no CPU cap, SIGSTOP/SIGCONT between "
              "invocations; timings are optimistic")
    measures_memory = False

    @classmethod
    def open(cls, name: str, plan: LimitsPlan, root: Path) -> Self:
        return cls(plan)

    def command(self, runtime: Sequence[str]) -> list[str]:
        # No RLIMIT_AS: `ulimit -v` is refused by macOS's shells, and it would not be
        # MemorySize anyway (see fallback.py).
        return spawn_command(runtime)

    def freeze(self) -> None:
        self._signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_group(signal.SIGCONT)

    def peak_since_reset(self) -> int:
        return 0   # not measured: measures_memory tells the environment to report None

    def _measured_peak(self) -> int:
        return 0

    def _reset_measured_peak(self) -> None:
        pass

    def reset_peak(self) -> int:
        return 0   # no /proc/<pid>/clear_refs to write

    def oom_killed(self) -> bool:
        return False

    def kill_all(self) -> None:
        pass   # the environment kills the runtime's process group itself

    def close(self) -> None:
        self.files.close()

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
