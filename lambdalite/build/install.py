"""Install the runtime requirements for the TARGET (not this machine) with pip.

Downloads happen here, at build time, and go through pip's own cache, so a second
build of the same target is offline-fast.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from lambdalite.build.errors import InstallFailed
from lambdalite.build.targets import Target

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def pip_command(
    target_dir: Path, requirements: Sequence[str], target: Target, *, python: str | None = None
) -> list[str]:
    return [
        python or sys.executable, "-m", "pip", "install",
        "--target", str(target_dir),
        *target.pip_args(),
        # We compile .pyc ourselves for the target Python (slim.compile_for_target).
        "--no-compile",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--quiet",
        *requirements,
    ]


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=False)


def install(
    target_dir: Path,
    requirements: Sequence[str],
    target: Target,
    *,
    runner: Runner = _run,
) -> list[str]:
    """Run pip; return the command it ran. Raises InstallFailed with pip's own reason."""
    target_dir.mkdir(parents=True, exist_ok=True)
    cmd = pip_command(target_dir, requirements, target)
    proc = runner(cmd)
    if proc.returncode != 0:
        reason = _reason(proc.stderr)
        raise InstallFailed(
            f"pip could not install {' '.join(requirements)} for {target}: {reason}. "
            "No wheel fits the runtime's glibc/architecture: pin another version, pick a "
            "newer runtime (python3.12+ has glibc 2.34), or use --package image"
        )
    return cmd


def _reason(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip().startswith("ERROR")]
    return " / ".join(lines[:2]) or stderr.strip()[-300:] or "unknown error"
