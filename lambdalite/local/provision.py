"""Install time: give every other Lambda Python found on this machine its runtime client.

An execution environment for ``python3.12`` runs under a Python 3.12 when one is installed
(see ``interpreters.py``); that interpreter needs ``awslambdaric``, which has a compiled part
built per Python version. This step installs it once per version into the folder
``interpreters.ric_dir`` looks in, with that interpreter's own pip, so nothing is downloaded
when a function runs. Missing interpreters are skipped: the engine then falls back to the host
Python with a warning. debugpy goes in the same folder, for ``lambdalite local --debug-port``.
Where qemu-user is installed it also sets up the arm64 userland that
runs arm64 python3.13 functions emulated (``lambdalite local setup-arm64`` does the same).

    python -m lambdalite.local.provision          # what `make test` runs
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from lambdalite.lambda_facts import RUNTIMES
from lambdalite.local.interpreters import (
    HOST_VERSION,
    NO_PYTHON_HINT,
    can_import_ric,
    find_python,
    ric_dir,
)


@dataclass(frozen=True)
class Outcome:
    version: str
    python: str | None
    status: str          # "host" | "ready" | "installed" | "no interpreter" | "failed: ..."


PACKAGES = ("awslambdaric", "debugpy")   # the runtime client, and the debugger it may run under


def provision(versions: list[str] | None = None, *, timeout_s: float = 300) -> list[Outcome]:
    wanted = versions or sorted({r.python for r in RUNTIMES.values()}, key=_key)
    return [_one(v, timeout_s) for v in wanted]


def _one(version: str, timeout_s: float) -> Outcome:
    if version == HOST_VERSION:
        return Outcome(version, sys.executable, "host")
    exe = find_python(version)
    if exe is None:
        return Outcome(version, None, "no interpreter")
    target = ric_dir(version)
    if can_import_ric(exe, str(target), "awslambdaric, runtime_client, debugpy"):
        return Outcome(version, exe, "ready")
    cmd = [exe, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--only-binary=:all:", "--target", str(target), "--upgrade", *PACKAGES]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Outcome(version, exe, f"failed: {exc}")
    if done.returncode != 0 or not can_import_ric(exe, str(target)):
        tail = (done.stderr.strip().splitlines() or ["awslambdaric does not import"])[-1]
        return Outcome(version, exe, f"failed: {tail}")
    return Outcome(version, exe, "installed")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def provision_arm64() -> str:
    """The arm64 userland for emulated python3.13 (``lambdalite.emulation``), set up unless
    it is ready or qemu-user is missing: what happened, in a few words."""
    from lambdalite import emulation
    from lambdalite.errors import DependencyError

    if emulation.find_userland() is not None:
        return "ready"
    if emulation.find_qemu() is None:
        return f"skipped: {emulation.qemu_install_hint()}"
    try:
        return f"set up in {emulation.set_up_userland().folder}"
    except DependencyError as exc:
        return f"failed: {exc.message}"


def main() -> int:
    for o in provision():
        if o.python is None:
            print(f"awslambdaric for Python {o.version}: no interpreter, python{o.version} "
                  f"functions run on the host's Python {HOST_VERSION}; to run them under "
                  f"{o.version}: {NO_PYTHON_HINT.format(version=o.version)}", file=sys.stderr)
            continue
        print(f"awslambdaric for Python {o.version}: {o.status} ({o.python})", file=sys.stderr)
    print(f"arm64 userland (emulated python3.13): {provision_arm64()}", file=sys.stderr)
    return 0   # never fails the install: a missing interpreter only means a host fallback


if __name__ == "__main__":
    sys.exit(main())
