"""Run a program of the arm64 userland with qemu-user, explicitly: ``qemu-aarch64-static
-cpu neoverse-n1 -L ROOT PROGRAM ...``.

Explicit, not binfmt_misc: registering qemu with the kernel needs root and changes the whole
machine, and explicit mode needs neither. Its one limit, that the emulated program cannot
start another aarch64 program, does not touch a function: awslambdaric starts no children.
x86_64 children (zig, when a build drives the emulated Python) run natively.

``-cpu neoverse-n1``: qemu's default ``max`` CPU emulates pointer authentication, which
Debian's arm64 binaries use throughout, and makes ``import numpy`` take 18-40 s instead of
2-6 s (measured, docs/BUILD.md). Neoverse N1 is also the core of Graviton2, the CPU of arm64
Lambda.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

QEMU = "qemu-aarch64-static"
QEMU_PACKAGE = "qemu-user-static"     # Debian's package that ships it
CPU = "neoverse-n1"

# Emulated work is slow: imports ~20x, compute ~300x (MNIST: INIT 5.1 s vs 0.2 s, a warm
# invoke 35 ms vs 0.1 ms; docs/BUILD.md). An emulated environment's INIT limit and Timeout
# are scaled by these so that emulation alone does not make it time out; the start-up notice
# says so.
INIT_SCALE = 10.0
TIMEOUT_SCALE = 30.0
QEMU_OVERHEAD_MB = 65                 # measured: 127 MB vs 57-63 MB max RSS for MNIST

EMULATED_NOTICE = (
    f"arm64 runs emulated ({QEMU} -cpu {CPU}): its durations are not arm64 Lambda's (imports "
    f"~20x, compute ~300x slower), Max Memory Used includes ~{QEMU_OVERHEAD_MB} MB of qemu, "
    f"and its INIT limit and Timeout are scaled x{INIT_SCALE:g} / x{TIMEOUT_SCALE:g} so that "
    "emulation alone does not time out")


def find_qemu(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return shutil.which(QEMU, path=env.get("PATH") or os.defpath)


def qemu_install_hint() -> str:
    return (f"install Debian's {QEMU_PACKAGE} (`apt-get install {QEMU_PACKAGE}`, as root; it "
            f"provides {QEMU})")


@dataclass(frozen=True)
class Emulator:
    """qemu-user around the userland at ``root``."""

    qemu: str
    root: Path

    @property
    def prefix(self) -> tuple[str, ...]:
        """What goes before an aarch64 program's path to run it."""
        return (self.qemu, "-cpu", CPU, "-L", str(self.root))

    def command(self, program: str, args: Sequence[str] = ()) -> list[str]:
        """``program`` (a path inside the userland, e.g. ``/usr/bin/python3.13``) under qemu."""
        return [*self.prefix, str(self.root / program.lstrip("/")), *args]
