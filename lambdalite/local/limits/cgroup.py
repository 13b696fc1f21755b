"""What cgroup v1 and v2 share: an environment's groups are made under the engine's own
(``<base>/lambdalite-<pid>/<env>-<rand>``), joined by the spawn wrapper before ``exec``,
emptied and removed on close; groups of engines that died without closing are swept at start."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path

from lambdalite.local.limits.base import LimitsPlan, OpenFiles, Sandbox, spawn_command

RMDIR_ATTEMPTS = 50                # x 20 ms: processes take a moment to leave a killed group
PREFIX = "lambdalite-"


class CgroupSandbox(Sandbox):
    """Limits the kernel enforces; the subclasses say which files do what."""

    def __init__(self, plan: LimitsPlan, groups: Sequence[Path]) -> None:
        super().__init__(plan)
        self.groups = tuple(groups)
        self._oom_baseline = 0

    def command(self, runtime: Sequence[str]) -> list[str]:
        return spawn_command(runtime, [g / "cgroup.procs" for g in self.groups])

    @staticmethod
    @abstractmethod
    def usable(root: Path) -> bool:
        """Whether this machine lets us use the mode (tries to create and remove a group)."""

    @staticmethod
    @abstractmethod
    def sweep_stale(root: Path) -> None:
        """Remove what engines that died without closing left in the mode's hierarchy."""

    def pids(self) -> list[int]:
        """Every process of the group (a daemonised grandchild too), and the runtime's tree."""
        return sorted({*_read_pids(self.groups[0] / "cgroup.procs"), *super().pids()})

    def oom_killed(self) -> bool:
        count = self._oom_kills()
        hit, self._oom_baseline = count > self._oom_baseline, count
        return hit

    @abstractmethod
    def _oom_kills(self) -> int:
        """How many times the OOM killer struck in the group so far."""

    def kill_all(self) -> None:
        for group in self.groups:
            _kill_members(group)
        self.thaw()   # frozen processes do not die until thawed

    def close(self) -> None:
        """Remove the groups (after the processes are gone); retries briefly while they exit."""
        self.files.close()
        for group in reversed(self.groups):
            for _ in range(RMDIR_ATTEMPTS):
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    time.sleep(0.02)
        for parent in {g.parent for g in self.groups}:
            with contextlib.suppress(OSError):
                parent.rmdir()   # the per-engine folder, once its last environment is gone


def group_name(name: str) -> str:
    """Unique on the machine: two engines in one process may both have an "Fn-1"."""
    return f"{name}-{secrets.token_hex(4)}"


def engine_group(base: Path) -> Path:
    """This engine's folder under a delegated group: every environment's group goes in it."""
    return base / f"{PREFIX}{os.getpid()}"


def write(directory: Path, name: str, value: str, files: OpenFiles | None = None) -> None:
    if files is None:
        (directory / name).write_text(value)
    else:
        files.write(directory / name, value)


def own_cgroup(controller: str) -> str | None:
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


def probe_group(base: Path) -> Path:
    """A group made and removed at once, to learn what the kernel lets us do in ``base``."""
    return base / f"{PREFIX}probe-{os.getpid()}"


def can_mkdir(base: Path) -> bool:
    probe = probe_group(base)
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return False
    return True


def remove_stale_groups(base: Path) -> None:
    """Remove the groups of lambdalite processes that died without closing, with the runtimes
    still in them (an engine killed by SIGKILL leaves them running, or frozen)."""
    for parent in base.glob(f"{PREFIX}*"):
        pid = parent.name.removeprefix(PREFIX)
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        for child in parent.iterdir():
            if child.is_dir():
                _remove_stale_group(child)
        with contextlib.suppress(OSError):
            parent.rmdir()


# Writing these thaws a group: cgroup v1's freezer, v2's cgroup.freeze.
_THAW_FILES = (("freezer.state", "THAWED"), ("cgroup.freeze", "0"))


def _remove_stale_group(group: Path) -> None:
    """Kill the group's processes, thaw it (a frozen process dies only once thawed), remove it;
    retried briefly only while killed processes are still leaving."""
    pids = _kill_members(group)
    for name, value in _THAW_FILES:
        if (group / name).exists():
            with contextlib.suppress(OSError):
                write(group, name, value)
    for _ in range(RMDIR_ATTEMPTS if pids else 1):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _kill_members(group: Path) -> list[int]:
    """SIGKILL every process in the group; returns their pids (gone ones are skipped)."""
    pids = _read_pids(group / "cgroup.procs")
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return pids


def _read_pids(path: Path) -> list[int]:
    try:
        return [int(p) for p in path.read_text().split()]
    except (OSError, ValueError):
        return []
