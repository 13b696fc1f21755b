"""Pick versions that fit the runtime: step an unpinned package down past a failed check.

pip picks the newest release whose wheel TAG fits the target, but a tag is a promise, not a
proof (elfcheck.py): ``ai-edge-litert`` 2.1.1+ aarch64 wheels say manylinux_2_27 and need
GLIBCXX_3.4.30, which Amazon Linux 2023's libstdc++ lacks. So when the installed set fails
the glibc or libstdc++ check because of a package the user did not pin
(``--extra-requirement name==x``), we try that package's older releases for the same
target, newest first (``pip index versions`` with the target's platform flags):

1. screen a candidate's wheel alone (``pip download --no-deps``, pip's cache): its ELF files
   against the runtime, and for zip its unzipped size against the 250 MB limit;
2. build with ``name==version`` added (install.py's deps cache keys it separately) and run
   every check again; a failure there rejects it too.

Both pip steps of the lister and the screen take about a second each, and a python3.12
arm64 build screens seven releases: their answers are kept for a day beside the deps cache
(``screens/``, one JSON file each, like install.py's entries), so the next build for the same
target (another variant, the next bench) asks pip nothing. A screen's verdict is keyed by the
release, the target, the package type, the user's constraints and the checks' own code; pip
failures (no wheel, no network) are never kept.

A size failure of the whole package (model + dependencies over 250 MB) never steps anything
down, before or after a pick: no release is to blame, and it is raised as size.check says it.

At most ``MAX_CANDIDATES`` releases per package (measured: python3.12 arm64 rejects seven
2.x releases before ai-edge-litert 2.1.0 fits). The first that passes is picked and the
result says why each newer one was rejected; when none fits, the error (of the newest
release's class, or PackageTooLarge when only size stood in the way) lists them all.
Generic: numpy, Pillow or any other distribution goes through the same steps.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lambdalite.bundle import elfcheck, errors, package
from lambdalite.bundle.errors import CheckFailed, PackageTooLarge
from lambdalite.bundle.install import CACHE_MAX_AGE_S, Runner, run
from lambdalite.bundle.resolve import canonical
from lambdalite.bundle.size import IMAGE_FIX, mb
from lambdalite.bundle.targets import Target
from lambdalite.lambda_facts import ZIP_UNZIPPED_LIMIT

MAX_CANDIDATES = 10

T = TypeVar("T")
Attempt = Callable[[tuple[str, ...]], T]          # requirements -> result; raises CheckFailed
Lister = Callable[[str], Sequence[str]]           # name -> versions for the target, newest first
Screen = Callable[[str, str], CheckFailed | None]  # (name, version) -> why it cannot fit


@dataclass(frozen=True)
class Rejected:
    version: str
    reason: str
    fix: str = ""
    size_only: bool = False       # fits the runtime; only the zip size limit stood in the way


@dataclass(frozen=True)
class Pick:
    name: str
    version: str
    rejected: tuple[Rejected, ...]

    def note(self) -> str:
        """e.g. "ai-edge-litert 2.3.0 needs GLIBCXX_3.4.30, ... -> picked 2.1.0"."""
        return f"{self.name} {grouped(self.rejected)} -> picked {self.version}"


def grouped(rejected: Sequence[Rejected]) -> str:
    """Consecutive releases rejected for the same reason on one line: "2.3.0, 2.2.0 needs ..."."""
    groups: list[tuple[list[str], str]] = []
    for r in rejected:
        if groups and groups[-1][1] == r.reason:
            groups[-1][0].append(r.version)
        else:
            groups.append(([r.version], r.reason))
    return "; ".join(f"{', '.join(vs)} {reason}" for vs, reason in groups)


_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*")


def pinned(extra_requirements: Sequence[str]) -> frozenset[str]:
    """Canonical names the user pinned with ``name==x`` (we never step those)."""
    names = set()
    for req in extra_requirements:
        m = _NAME.match(req)
        if m and req[m.end():].startswith("=="):
            names.add(canonical(m.group(1)))
    return frozenset(names)


def constraints_for(name: str, extra_requirements: Sequence[str]) -> tuple[str, ...]:
    """The user's own requirements on ``name`` (e.g. ``ai-edge-litert>=2``): candidates keep them."""
    return tuple(r for r in extra_requirements
                 if (m := _NAME.match(r)) and canonical(m.group(1)) == canonical(name))


def fit(requirements: tuple[str, ...], attempt: Attempt[T], *, pinned: frozenset[str],
        versions: Lister, screen: Screen, target_label: str,
        max_candidates: int = MAX_CANDIDATES) -> tuple[T, tuple[Pick, ...]]:
    """``attempt(requirements)``, stepping unpinned culprits down until every check passes."""
    pins: dict[str, str] = {}
    rejected: dict[str, list[Rejected]] = {}
    queues: dict[str, list[str]] = {}
    untried: dict[str, int] = {}
    newest_error: dict[str, CheckFailed] = {}
    while True:
        try:
            result = attempt((*requirements, *(f"{n}=={v}" for n, v in pins.items())))
        except PackageTooLarge:
            # The model and dependencies together are too big: no release of anything is
            # to blame, and an older one will not make the model smaller (size.check says so).
            raise
        except CheckFailed as err:
            name = canonical(err.package) if err.package else None
            version = pins.get(name) if name else None
            version = version or err.version
            if name is None or name in pinned or version is None:
                raise
            rejected.setdefault(name, []).append(_rejection(version, err))
            newest_error.setdefault(name, err)
            if name not in queues:
                older = _older(versions(name), version)
                queues[name], untried[name] = older[:max_candidates], max(
                    0, len(older) - max_candidates)
            picked = _next_fitting(name, queues[name], screen, rejected[name])
            if picked is None:
                raise _none_fits(name, rejected[name], newest_error[name], untried[name],
                                 target_label) from err
            pins[name] = picked
        else:
            return result, tuple(Pick(n, v, tuple(rejected[n])) for n, v in pins.items())


def _rejection(version: str, err: CheckFailed) -> Rejected:
    return Rejected(version, err.reason, err.fix, size_only=isinstance(err, PackageTooLarge))


def _older(all_versions: Sequence[str], current: str) -> list[str]:
    """Releases after ``current`` in pip's newest-first list (all of them if it is absent)."""
    listed = list(all_versions)
    return listed[listed.index(current) + 1:] if current in listed else listed


def _next_fitting(name: str, queue: list[str], screen: Screen, rejected: list[Rejected]
                  ) -> str | None:
    while queue:
        version = queue.pop(0)
        why = screen(name, version)
        if why is None:
            return version
        rejected.append(_rejection(version, why))
    return None


def _none_fits(name: str, rejected: list[Rejected], newest: CheckFailed, untried: int,
               target_label: str) -> CheckFailed:
    tried = grouped(rejected)
    more = f" ({untried} older release(s) not tried)" if untried else ""
    size_only = any(r.size_only for r in rejected)
    fixes = [IMAGE_FIX] if size_only else []
    for r in rejected:
        if r.fix and r.fix not in fixes:
            fixes.append(r.fix)
    fixes.append(f"pin a release with --extra-requirement '{name}==<version>'")
    cls = PackageTooLarge if size_only else type(newest)
    return cls(
        f"no {name} release fits {target_label}: {tried}{more}. Fix: {', or '.join(fixes)}",
        package=name, reason=newest.reason, fix=fixes[0],
    )


# -- pip-backed lister and screen --------------------------------------------------------------

def list_versions(name: str, target: Target, *, runner: Runner = run,
                  cache: Path | None = None) -> list[str]:
    """Releases of ``name`` that have a wheel for ``target``, newest first ([] if pip fails).

    ``cache``: a folder where pip's answer is kept for a day (a failure is not kept).
    """
    key = ["versions", name, repr(target)]
    kept = _recall(cache, key)
    if kept is not None:
        return [str(v) for v in kept]
    proc = runner([sys.executable, "-m", "pip", "index", "versions", name, "--json",
                   "--disable-pip-version-check", *target.pip_args()])
    if proc.returncode != 0:
        return []
    try:
        found = [str(v) for v in json.loads(proc.stdout)["versions"]]
    except (ValueError, KeyError, TypeError):
        return []
    _keep(cache, key, found)
    return found


def screen_wheel(name: str, version: str, target: Target, package_type: str, *,
                 constraints: Sequence[str] = (), runner: Runner = run,
                 cache: Path | None = None) -> CheckFailed | None:
    """Check one release's wheel alone: its ELF files fit the runtime, and (zip) its size.

    ``constraints`` (the user's own requirements on ``name``) go to pip too, so a release
    they exclude is rejected here, not by a failed install later. ``cache``: a folder where
    the verdict of a wheel that was found and checked is kept for a day.
    """
    key = ["screen", name, version, repr(target), package_type, list(constraints),
           ZIP_UNZIPPED_LIMIT, _checks_fingerprint()]
    kept = _recall(cache, key)
    if isinstance(kept, dict) and "verdict" in kept:
        try:
            return _verdict_from(kept["verdict"])
        except (KeyError, TypeError):
            pass   # an entry of another shape: screen again
    verdict, checked = _screen(name, version, target, package_type, constraints, runner)
    if checked:
        _keep(cache, key, {"verdict": _verdict_to(verdict)})
    return verdict


def _screen(name: str, version: str, target: Target, package_type: str,
            constraints: Sequence[str], runner: Runner) -> tuple[CheckFailed | None, bool]:
    """The verdict, and whether a wheel was found and checked (pip's failures are not)."""
    with tempfile.TemporaryDirectory(prefix="lambdalite-wheel-") as tmp:
        dl = Path(tmp) / "dl"
        proc = runner([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                       "--disable-pip-version-check", "-d", str(dl), *target.pip_args(),
                       f"{name}=={version}", *constraints])
        wheels = sorted(dl.glob("*.whl")) if proc.returncode == 0 else []
        if not wheels:
            meeting = f" that meets {', '.join(constraints)}" if constraints else ""
            return CheckFailed(f"{name} {version}: no wheel for {target}{meeting}",
                               package=name, reason=f"has no wheel for {target}{meeting}"), False
        unpacked = Path(tmp) / "x"
        with zipfile.ZipFile(wheels[0]) as zf:
            zf.extractall(unpacked)
        infos = list(elfcheck.scan(unpacked))
        owners = {child.name: name for child in unpacked.iterdir()}
        try:
            elfcheck.check_glibc(infos, target, owners)
            elfcheck.check_libstdcxx(infos, target, owners)
        except CheckFailed as err:
            return err, True
        _files, size = package.tree_stats(unpacked)
        if package_type == "zip" and size > ZIP_UNZIPPED_LIMIT:
            return PackageTooLarge(
                f"{name} {version} alone is {mb(size)} unzipped",
                reason=f"is {mb(size)} unzipped by itself, over the {mb(ZIP_UNZIPPED_LIMIT)} "
                       "zip limit", fix=IMAGE_FIX), True
    return None, True


# -- the day's answers, kept on disk --------------------------------------------------------
# A JSON file per key: small, read once per candidate, written atomically (no library needed
# for that; install.py's deps cache keeps whole trees the same way).

@functools.cache
def _checks_fingerprint() -> str:
    """The checks' code: a verdict made by other checks (an upgrade, an edit) is not reused.
    Read once per process (every screen's key holds it)."""
    sources = b"".join(Path(m.__file__).read_bytes() for m in (elfcheck, sys.modules[__name__])
                       if m.__file__)
    return hashlib.sha256(sources).hexdigest()[:16]


def _entry(cache: Path, key: Sequence[object]) -> Path:
    return cache / (hashlib.sha256(json.dumps(key).encode()).hexdigest()[:24] + ".json")


def _recall(cache: Path | None, key: Sequence[object]) -> Any:
    if cache is None:
        return None
    try:
        data = json.loads(_entry(cache, key).read_text())
        if data["key"] == key and time.time() - float(data["created"]) < CACHE_MAX_AGE_S:
            return data["value"]
    except (OSError, ValueError, KeyError, TypeError):
        pass   # absent, half-written by a crash, or another format: ask pip again
    return None


def _keep(cache: Path | None, key: Sequence[object], value: object) -> None:
    if cache is None:
        return
    path = _entry(cache, key)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps({"key": key, "created": time.time(), "value": value}))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)   # a full or read-only disk: the build goes on uncached


def _verdict_to(err: CheckFailed | None) -> dict[str, str | None] | None:
    if err is None:
        return None
    return {"class": type(err).__name__, "message": str(err), "package": err.package,
            "reason": err.reason, "fix": err.fix}


def _verdict_from(data: dict[str, str | None] | None) -> CheckFailed | None:
    if data is None:
        return None
    cls = getattr(errors, str(data["class"]), CheckFailed)
    if not (isinstance(cls, type) and issubclass(cls, CheckFailed)):
        cls = CheckFailed
    return cls(str(data["message"]), package=data["package"], reason=str(data["reason"]),
               fix=str(data["fix"]))
