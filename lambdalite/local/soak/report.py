"""The soak's table: one row per check, with the machine and the settings it ran with."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Row:
    phase: str
    check: str
    inputs: int
    result: str
    ok: bool
    detail: list[str] = field(default_factory=list)   # the first few failures, if any
    note: str = ""


@dataclass
class SoakReport:
    settings: dict[str, Any]
    machine: dict[str, str]
    rows: list[Row] = field(default_factory=list)
    limits: str = ""
    protection: str = ""
    started: float = 0.0
    seconds: float = 0.0

    @classmethod
    def start(cls, options: Any) -> SoakReport:
        settings = {k: (str(v) if hasattr(v, "parts") else v) for k, v in asdict(options).items()
                    if k not in ("model_dir", "digits_dir")}
        machine = {
            "cpus": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                        else os.cpu_count()),
            "system": f"{platform.system()} {platform.release()} {platform.machine()}",
            "python": sys.version.split()[0],
        }
        return cls(settings, machine, started=time.monotonic())

    def finish(self) -> None:
        self.seconds = time.monotonic() - self.started

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    def render(self) -> str:
        lines = [
            f"lambdalite local soak: {'PASS' if self.ok else 'FAIL'} "
            f"({sum(r.ok for r in self.rows)} of {len(self.rows)} checks, {self.seconds:.0f} s)",
            f"machine: {self.machine['cpus']} CPUs, {self.machine['system']}, "
            f"Python {self.machine['python']}",
            "settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()),
            self.limits, self.protection, "",
            "| phase | check | inputs | result | pass |",
            "|---|---|---:|---|---|",
        ]
        for row in self.rows:
            result = row.result + (f" ({row.note})" if row.note else "")
            lines.append(f"| {row.phase} | {row.check} | {row.inputs} | {result} | "
                         f"{'yes' if row.ok else 'NO'} |")
        failures = [(row.check, d) for row in self.rows for d in row.detail]
        if failures:
            lines += ["", "first failures:"] + [f"  {check}: {d}" for check, d in failures[:20]]
        return "\n".join(line for line in lines if line is not None)
