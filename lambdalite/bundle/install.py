"""Install the runtime requirements for the TARGET (not this machine) with pip.

Downloads happen here, at build time, and go through pip's own cache. On top of that, the
installed tree of one (requirements, target) pair is kept for a day under
``~/.cache/lambdalite/deps/`` (``LAMBDALITE_DEPS_CACHE``; ``off`` disables it) and copied into
each task root, so building every variant of a model installs its dependencies once. After a
day pip resolves again, so a new release of numpy or LiteRT is picked up.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lambdalite.bundle.errors import InstallFailed, NoWheel
from lambdalite.bundle.targets import Target

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]

CACHE_ENV = "LAMBDALITE_DEPS_CACHE"
CACHE_MAX_AGE_S = 24 * 3600
_COMPLETE = ".lambdalite-deps.json"   # written last: an entry without it is unfinished


def pip_command(
    target_dir: Path, requirements: Sequence[str], target: Target, *, python: str | None = None,
    find_links: Sequence[Path] = (),
) -> list[str]:
    """``find_links``: folders of wheels compiled for the target (crosscompile.py); they carry
    the plain ``linux_<machine>`` tag, which pip then accepts too."""
    local: list[str] = []
    for folder in find_links:
        local += ["--find-links", str(folder)]
    if find_links:
        local += ["--platform", target.plain_linux_tag]
    return [
        python or sys.executable, "-m", "pip", "install",
        "--target", str(target_dir),
        *target.pip_args(), *local,
        # We compile .pyc ourselves for the target Python (slim.compile_for_target).
        "--no-compile",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--quiet",
        *requirements,
    ]


def run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """The default Runner: a command's exit code and output, captured as text."""
    return subprocess.run(list(cmd), capture_output=True, text=True, check=False)


def install(
    target_dir: Path,
    requirements: Sequence[str],
    target: Target,
    *,
    runner: Runner = run,
    find_links: Sequence[Path] = (),
) -> list[str]:
    """Install into ``target_dir`` (from the deps cache when fresh); return pip's command.

    Raises InstallFailed with pip's own reason (NoWheel when a requirement has no wheel for
    the target).
    """
    cache = _cache_root()
    if cache is None:
        return _pip(target_dir, requirements, target, runner, find_links)
    key_cmd = pip_command(Path("TARGET"), requirements, target, find_links=find_links)[1:]
    key = hashlib.sha256(json.dumps(key_cmd).encode()).hexdigest()[:20]
    entry = cache / key
    if not _fresh(entry):
        tmp = cache / f"{key}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            _pip(tmp, requirements, target, runner, find_links)
        except BaseException:   # a failed or interrupted pip leaves no half-filled entry
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        (tmp / _COMPLETE).write_text(json.dumps({"command": key_cmd, "created": time.time()}))
        shutil.rmtree(entry, ignore_errors=True)
        try:
            os.replace(tmp, entry)
        except OSError:   # another build filled it meanwhile: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(entry, target_dir, symlinks=True, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(_COMPLETE))
    return pip_command(target_dir, requirements, target, find_links=find_links)


def _cache_root() -> Path | None:
    value = os.environ.get(CACHE_ENV, "")
    if value.lower() == "off":
        return None
    root = Path(value) if value else Path.home() / ".cache" / "lambdalite" / "deps"
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_subdir(name: str) -> Path | None:
    """A folder ``name`` beside the deps cache's entries, or None when that cache is off."""
    root = _cache_root()
    if root is None:
        return None
    (root / name).mkdir(exist_ok=True)
    return root / name


def compiled_cache_root() -> Path:
    """Where wheels compiled for a target are kept (crosscompile.py): beside the deps cache
    (``compiled/`` in it), or in a folder of this process when that cache is off."""
    folder = cache_subdir("compiled")
    if folder is None:
        global _scratch
        if _scratch is None:
            _scratch = Path(tempfile.mkdtemp(prefix="lambdalite-compiled-"))
            atexit.register(shutil.rmtree, _scratch, True)
        return _scratch
    return folder


_scratch: Path | None = None


def _fresh(entry: Path) -> bool:
    marker = entry / _COMPLETE
    try:
        created = float(json.loads(marker.read_text())["created"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return time.time() - created < CACHE_MAX_AGE_S


def _pip(target_dir: Path, requirements: Sequence[str], target: Target, runner: Runner,
         find_links: Sequence[Path] = ()) -> list[str]:
    target_dir.mkdir(parents=True, exist_ok=True)
    cmd = pip_command(target_dir, requirements, target, find_links=find_links)
    proc = runner(cmd)
    if proc.returncode != 0:
        message = (f"pip could not install {' '.join(requirements)} for {target}: "
                   f"{_reason(proc.stderr)}.{_hint(proc.stderr, target)}")
        no_match = _NO_MATCH.search(proc.stderr)
        if no_match is not None:
            raise NoWheel(message, requirement=no_match.group(1))
        raise InstallFailed(message)
    return cmd


_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_VERSIONS = re.compile(r"satisfies the requirement (\S+) \(from versions: ([^)]*)\)")


def _reason(stderr: str) -> str:
    """pip's own words: the decisive ERROR line (not "Ignored the following versions ...")."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip().startswith("ERROR")]
    decisive = [ln for ln in lines if "Ignored the following" not in ln
                and "Could not find a version" not in ln]
    return " / ".join((decisive or lines)[:2]) or stderr.strip()[-300:] or "unknown error"


def _hint(stderr: str, target: Target) -> str:
    """What to do, only when pip found no distribution for the target (not a conflict or a
    malformed requirement: pip's reason says what is wrong with those).

    A container image does not help either way: its task root is installed for the same
    platform tags, and its base OS has the runtime's glibc.
    """
    no_match = _NO_MATCH.search(stderr)
    if no_match is None:
        return ""
    req = no_match.group(1)
    listed = {m.group(1): m.group(2) for m in _VERSIONS.finditer(stderr)}.get(req, "none")
    versions = [v.strip() for v in listed.split(",") if v.strip() not in ("", "none")]
    if versions:
        return (f" Releases with a wheel for {target} go up to {versions[-1]} and {req} "
                "matches none of them: pin one of those (a newer release may have no wheel "
                "for this runtime's glibc/architecture)")
    return (f" No release of {req} has a wheel for {target}: pick a newer runtime "
            "(python3.12+ has glibc 2.34) or another package")
