"""The machine a benchmark ran on, recorded with every result (numbers mean little without it).

Package versions come from installed metadata, so TensorFlow is never imported just to
report its version.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

VERSIONED = ("ai-edge-litert", "tensorflow", "numpy", "pillow", "awslambdaric")


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int                 # logical CPUs this process may use
    memory_total_mb: int
    os: str
    kernel: str
    python: str
    limits: str                # how memory/CPU limits are enforced (the local engine's notice)
    cgroup_mode: str
    versions: dict[str, str | None]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def describe(self) -> str:
        vs = ", ".join(f"{k} {v}" for k, v in self.versions.items() if v)
        return (f"{self.cpu_model}, {self.cores} cores, {self.memory_total_mb} MB RAM, "
                f"{self.os} (kernel {self.kernel}), Python {self.python}; lambdalite's own "
                f"environment (not the measured packages, see their requirements.lock): {vs}"
                f"\n{self.limits}")


def collect() -> Machine:
    from lambdalite.local.limits import detect_mode, limits_notice

    mode = detect_mode()
    return Machine(
        cpu_model=cpu_model(),
        cores=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
        memory_total_mb=_memory_total_mb(),
        os=_os_name(),
        kernel=platform.release(),
        python=platform.python_version(),
        limits=limits_notice(mode),
        cgroup_mode=mode.value,
        versions={name: package_version(name) for name in VERSIONED},
    )


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _memory_total_mb(meminfo: Path = Path("/proc/meminfo")) -> int:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class CpuTimes(NamedTuple):
    """The host's CPU time so far, all CPUs, in clock ticks (``/proc/stat``'s ``cpu`` line)."""

    steal: int                 # time the hypervisor ran something else on our vCPUs
    total: int


def cpu_times(stat: Path = Path("/proc/stat")) -> CpuTimes | None:
    """Now, or None where there is no ``/proc/stat`` (or it has no steal column)."""
    try:
        with stat.open() as f:
            fields = f.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    try:
        # user nice system idle iowait irq softirq steal [guest guest_nice: within user/nice]
        ticks = [int(v) for v in fields[1:9]]
    except ValueError:
        return None
    return CpuTimes(steal=ticks[7], total=sum(ticks))


def steal_percent(before: CpuTimes | None, after: CpuTimes | None) -> float | None:
    """The share of the CPUs' time between two readings that the hypervisor took (steal): on
    a VM, the time our vCPUs were runnable but not running. None where it was not read."""
    if before is None or after is None or after.total <= before.total:
        return None
    return 100.0 * (after.steal - before.steal) / (after.total - before.total)


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", sys.platform)
    except OSError:
        return sys.platform
