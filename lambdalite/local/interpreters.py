"""Which Python runs a function locally, and where its runtime client (awslambdaric) comes from.

An execution environment is ``<python> -m awslambdaric HANDLER``. The interpreter should match
the function's ``Runtime`` (python3.12 -> a Python 3.12); when none is installed we fall back to
the host's interpreter and say so. awslambdaric has a compiled part (``runtime_client``) built
per Python version, so an interpreter is only usable if it can import awslambdaric:

* the host interpreter (the one running lambdalite) has it, it is a dependency;
* another interpreter either has it installed, or finds it in a per-version folder
  ``$LAMBDALITE_RIC_DIR/python3.X`` (default ``~/.cache/lambdalite/awslambdaric/python3.X``)
  that the user fills once with ``python3.X -m pip install --target <dir> awslambdaric``.

An arm64 function (``Architectures: [arm64]``) on python3.13 runs under an *emulated*
interpreter: Debian's arm64 python3.13 of the userland (``lambdalite.emulation``), started as
``qemu-aarch64-static -cpu neoverse-n1 -L ROOT ROOT/usr/bin/python3.13`` (``Interpreter.prefix``)
with the awslambdaric aarch64 wheel on its path. Other arm64 runtimes have no arm64 Python
here (Debian ships 3.13 only) and run on this machine's CPU, as does arm64 python3.13 when
qemu or the userland is missing: with a warning that says so, and what to install.

Nothing is downloaded at run time: we only report the command.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from lambdalite import emulation
from lambdalite.errors import DependencyError, UsageError
from lambdalite.lambda_facts import RUNTIMES

RIC_DIR_ENV = "LAMBDALITE_RIC_DIR"
DEFAULT_RIC_DIR = Path.home() / ".cache" / "lambdalite" / "awslambdaric"
HOST_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
_VERSION_RE = re.compile(r"^3\.\d+$")
NO_PYTHON_HINT = ("install Python {version} (`pyenv install {version}`), then its runtime "
                  "client once (`python -m lambdalite.local.provision`)")


@dataclass(frozen=True)
class Interpreter:
    """The Python an execution environment runs, and what it needs on its path."""

    path: str                       # executable
    version: str                    # "3.12"
    extra_path: tuple[str, ...] = ()  # folders to put on PYTHONPATH (after the task root)
    is_host: bool = False
    warning: str | None = None      # set when the choice does not match the Runtime
    prefix: tuple[str, ...] = ()    # what runs ``path``: qemu-user for an emulated one

    @property
    def emulated(self) -> bool:
        return bool(self.prefix)

    @property
    def runtime_dir(self) -> str:
        """What LAMBDA_RUNTIME_DIR points at: the folder holding awslambdaric."""
        return self.extra_path[0] if self.extra_path else _host_ric_dir()

    @property
    def init_scale(self) -> float:
        """How much longer INIT may take than Lambda's limit (emulation is slow)."""
        return emulation.INIT_SCALE if self.emulated else 1.0

    @property
    def timeout_scale(self) -> float:
        """How much longer an invocation may take than the function's Timeout."""
        return emulation.TIMEOUT_SCALE if self.emulated else 1.0

    def command(self, args: list[str]) -> list[str]:
        return [*self.prefix, self.path, *args]


def ric_dir(version: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where a ``pip install --target`` copy of awslambdaric for ``version`` is looked for."""
    env = os.environ if environ is None else environ
    base = Path(env[RIC_DIR_ENV]) if env.get(RIC_DIR_ENV) else DEFAULT_RIC_DIR
    return base / f"python{version}"


def ric_install_hint(python: str, version: str, environ: Mapping[str, str] | None = None) -> str:
    return f"{python} -m pip install --target {ric_dir(version, environ)} awslambdaric"


def find_python(version: str, environ: Mapping[str, str] | None = None) -> str | None:
    """An interpreter for ``version`` ("3.12"): the host's, pyenv's, then ``python3.X`` on PATH."""
    if not _VERSION_RE.match(version):
        raise UsageError(f"not a Python version: {version!r} (expected e.g. 3.12)")
    env = os.environ if environ is None else environ
    if version == HOST_VERSION:
        return sys.executable
    pyenv_root = Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = pyenv_root / "versions"
    if versions.is_dir():
        # Newest patch release first: "3.12.10" sorts after "3.12.9".
        for folder in sorted(versions.glob(f"{version}.*"), key=_patch_key, reverse=True):
            exe = folder / "bin" / f"python{version}"
            if os.access(exe, os.X_OK):
                return str(exe)
    for directory in (env.get("PATH") or "").split(os.pathsep):
        # pyenv shims answer for versions that are not selected and then fail: skip them.
        if not directory or directory.rstrip("/").endswith("shims"):
            continue
        found = shutil.which(f"python{version}", path=directory)
        if found:
            return found
    return None


def choose_interpreter(
    runtime: str,
    python: str | None = None,
    environ: Mapping[str, str] | None = None,
    architecture: str = "x86_64",
) -> Interpreter:
    """The interpreter for a function's ``Runtime`` and ``Architectures``; ``python`` (a path
    or "3.12") overrides.

    An explicit choice that cannot run awslambdaric is an error; an automatic one falls back to
    the host interpreter with a warning saying how to get the matching one.
    """
    if python:
        return _explicit(python, environ)
    if runtime not in RUNTIMES:
        supported = ", ".join(RUNTIMES)
        raise UsageError(f"Runtime {runtime!r} is not a Python runtime lambdalite runs ({supported})")
    version = RUNTIMES[runtime].python
    if architecture == "arm64" and version == emulation.EMULATED_PYTHON:
        chosen = emulated(environ)
        if chosen is not None:
            return chosen
        why = emulation.why_not_ready(environ)
        warning = (f"{runtime} arm64 cannot run emulated: {why}; running on this machine's "
                   "x86_64 CPU instead, where a package built for arm64 does not import")
        fallback = choose_interpreter(runtime, None, environ)
        return replace(fallback, warning="; ".join(w for w in (warning, fallback.warning) if w))
    if version == HOST_VERSION:
        return _host()
    exe = find_python(version, environ)
    if exe is None:
        return _host(
            f"{runtime}: no Python {version} found (pyenv or python{version} on PATH); "
            f"running on the host's Python {HOST_VERSION} instead, where a package built for "
            f"{runtime} (its compiled wheels) does not import; to run it: "
            f"{NO_PYTHON_HINT.format(version=version)}"
        )
    extra = _ric_path(exe, version, environ)
    if extra is None:
        return _host(
            f"{runtime}: {exe} has no awslambdaric; running on the host's Python {HOST_VERSION} "
            f"instead (to use {version}: {ric_install_hint(exe, version, environ)})"
        )
    return Interpreter(exe, version, extra)


def check_debugpy(interpreter: Interpreter) -> None:
    """``--debug-port`` runs the runtime under debugpy: DependencyError, with the command that
    installs it, when ``interpreter`` cannot import it."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(
        interpreter.extra_path)}
    try:
        done = subprocess.run([interpreter.path, "-c", "import debugpy"], env=env,
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is None or done.returncode != 0:
        target = interpreter.extra_path[0] if interpreter.extra_path else None
        where = f" --target {target}" if target else ""
        raise DependencyError(
            f"--debug-port needs debugpy in Python {interpreter.version} ({interpreter.path}); "
            f"install it with: {interpreter.path} -m pip install{where} debugpy")


def emulated(environ: Mapping[str, str] | None = None) -> Interpreter | None:
    """Debian's arm64 python3.13 under qemu-user, when qemu and the userland are here."""
    qemu = emulation.find_qemu(environ)
    userland = emulation.find_userland(environ)
    if qemu is None or userland is None:
        return None
    emulator = userland.emulator(qemu)
    return Interpreter(str(userland.root / userland.python.lstrip("/")), emulation.EMULATED_PYTHON,
                       (str(userland.ric_dir),), prefix=emulator.prefix)


def _explicit(python: str, environ: Mapping[str, str] | None) -> Interpreter:
    if _VERSION_RE.match(python):
        exe = find_python(python, environ)
        if exe is None:
            raise DependencyError(f"--python {python}: no Python {python} found; install it "
                                  f"(e.g. `pyenv install {python}`) or pass a path")
    else:
        exe = shutil.which(python) or python
        if not os.access(exe, os.X_OK):
            raise DependencyError(f"--python {python}: not an executable")
    version = _version_of(exe)
    if version == HOST_VERSION and _same_interpreter(exe, sys.executable):
        return _host()
    extra = _ric_path(exe, version, environ)
    if extra is None:
        raise DependencyError(
            f"{exe} (Python {version}) cannot import awslambdaric, the Lambda runtime client; "
            f"install it once with: {ric_install_hint(exe, version, environ)}"
        )
    return Interpreter(exe, version, extra)


def _host(warning: str | None = None) -> Interpreter:
    return Interpreter(sys.executable, HOST_VERSION, (), is_host=True, warning=warning)


def _ric_path(exe: str, version: str, environ: Mapping[str, str] | None) -> tuple[str, ...] | None:
    """Extra PYTHONPATH that makes awslambdaric importable for ``exe``, or None if impossible."""
    target = ric_dir(version, environ)
    if (target / "awslambdaric").is_dir() and _can_import_ric(exe, str(target)):
        return (str(target),)
    if _can_import_ric(exe, ""):
        return (_ric_site_dir(exe),)
    return None


def can_import_ric(exe: str, extra: str, modules: str = "awslambdaric, runtime_client") -> bool:
    """Does ``exe`` import awslambdaric (and its compiled part; or ``modules``) with ``extra``
    on PYTHONPATH?"""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": extra}
    try:
        done = subprocess.run(
            [exe, "-c", f"import {modules}"],
            env=env, capture_output=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


_can_import_ric = functools.cache(can_import_ric)   # choices are made per process


@functools.cache
def _ric_site_dir(exe: str) -> str:
    done = subprocess.run(
        [exe, "-c", "import awslambdaric, os; print(os.path.dirname(os.path.dirname(awslambdaric.__file__)))"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    return done.stdout.strip()


@functools.cache
def _version_of(exe: str) -> str:
    try:
        done = subprocess.run(
            [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DependencyError(f"{exe} does not run as a Python interpreter: {exc}") from exc
    return done.stdout.strip()


@functools.cache
def _host_ric_dir() -> str:
    import awslambdaric  # the host always has it: it is a lambdalite dependency

    return str(Path(awslambdaric.__file__).resolve().parent.parent)


def _same_interpreter(a: str, b: str) -> bool:
    # Not realpath: a venv's python is a symlink to the base interpreter, which lacks the venv.
    return os.path.abspath(a) == os.path.abspath(b)


def _patch_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in folder.name.split("."))
