"""What the function needs at run time, per backend, and what pip actually installed.

Version picking is pip's job first: given the target's platform tags (``targets.py``) it
picks the newest release that has a wheel for them, e.g. ``ai-edge-litert`` 1.x
(manylinux2014) for python3.11 and 2.x (manylinux_2_27+) for python3.12; when that release
fails a check, versions.py steps it down. We then read
the installed ``*.dist-info`` back, check every wheel tag against the target and pin
exactly what got installed in ``requirements.lock``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from lambdalite.bundle.errors import InstallFailed
from lambdalite.bundle.targets import Target
from lambdalite.errors import OptionError

# Distribution names (pip) per backend. The function imports numpy, PIL and the backend
# (see lambdalite.function.RUNTIME_PACKAGES / TF_PACKAGES / ONNX_PACKAGES).
REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "litert": ("numpy", "pillow", "ai-edge-litert"),
    "tf": ("numpy", "pillow", "tensorflow"),
    "onnxruntime": ("numpy", "pillow", "onnxruntime"),
}
# onnxruntime per the runtime's OS (measured, docs/BUILD.md): 1.17.0+ wheels need GLIBC_2.27
# (manylinux_2_27/2_28), so Amazon Linux 2 (glibc 2.26) stops at 1.16.3, which is compiled
# against NumPy 1.x and fails to import beside numpy 2 (its metadata does not say so). Amazon
# Linux 2023 runs every release up to 1.32, the newest checked here.
# A pin of a package the backend does not name itself (ml-dtypes) is added to the requirements.
# ml-dtypes (ai-edge-litert's dependency, imported only by LiteRT's CompiledModel: the XNNPACK
# weight cache backend) costs python3.12 120 M instructions to import at 0.7.0 against 59 M at
# 0.6.0 (callgrind, after numpy; 0.7 registers more dtypes): about 10 ms of a large model's INIT,
# doubled at 1024 MB's CPU share. ai-edge-litert 2.3 uses only bfloat16 and float8_e4m3fn/e5m2.
BACKEND_PINS: dict[tuple[str, str], tuple[str, ...]] = {
    ("onnxruntime", "Amazon Linux 2"): ("onnxruntime<1.17", "numpy<2"),
    ("onnxruntime", "Amazon Linux 2023"): ("onnxruntime<1.33",),
    ("litert", "Amazon Linux 2023"): ("ml-dtypes<0.7",),
}


# The LiteRT backend's interpreter may come from another distribution: ``tflite-runtime``
# (``tflite_runtime.interpreter``, the same API; function/backends/litert.py imports either).
LITERT_PACKAGE = "ai-edge-litert"
TFLITE_RUNTIME = "tflite-runtime"
# Every tflite-runtime release (the last, 2.14.0, is from 2023) is compiled against NumPy 1.x:
# under numpy 2 its Interpreter() fails ("_ARRAY_API not found"), and pip picks numpy 2.
TFLITE_RUNTIME_NUMPY = "numpy<2"


def requirements_for(backend: str, extra: tuple[str, ...] = (), target: Target | None = None,
                     litert_package: str | None = None) -> tuple[str, ...]:
    """pip requirements of a package: the backend's (with its pins for ``target``'s OS), then
    ``extra``; ``litert_package`` (e.g. ``tflite-runtime==2.7.0``) replaces ai-edge-litert as
    the LiteRT backend's interpreter."""
    pins = BACKEND_PINS.get((backend, target.runtime.os), ()) if target is not None else ()
    pinned = {canonical(requirement_name(p)): p for p in pins}
    named = {canonical(r) for r in REQUIREMENTS[backend]}
    base = (*(pinned.get(canonical(r), r) for r in REQUIREMENTS[backend]),
            *(p for name, p in pinned.items() if name not in named))
    if litert_package and backend == "litert":
        name = canonical(requirement_name(litert_package))
        if name not in (LITERT_PACKAGE, TFLITE_RUNTIME):
            raise OptionError(f"{{litert_package}} {litert_package!r}: the LiteRT interpreter "
                              f"comes from {LITERT_PACKAGE} or {TFLITE_RUNTIME} "
                              "(with a version, e.g. tflite-runtime==2.7.0)")
        numpy = TFLITE_RUNTIME_NUMPY if name == TFLITE_RUNTIME else "numpy"
        base = tuple(numpy if r == "numpy" else litert_package if r == LITERT_PACKAGE else r
                     for r in base)
    return (*base, *extra)


def requirement_name(requirement: str) -> str:
    """The project name a pip requirement starts with (``numpy<2`` -> ``numpy``)."""
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0]


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Installed:
    name: str                      # as in METADATA
    version: str
    wheel_tags: tuple[str, ...]    # from WHEEL
    top_level: tuple[str, ...]     # first path parts the distribution owns (from RECORD)
    dist_info: str                 # folder name, relative to the target dir
    requires: tuple[str, ...] = ()  # Requires-Dist lines of METADATA (with their markers)

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


def read_installed(target_dir: Path) -> dict[str, Installed]:
    """Every distribution in a ``pip install --target`` folder, keyed by canonical name."""
    found: dict[str, Installed] = {}
    for info in sorted(target_dir.glob("*.dist-info")):
        meta = HeaderParser().parsestr((info / "METADATA").read_text(errors="replace"))
        wheel_file = info / "WHEEL"
        wheel = HeaderParser().parsestr(wheel_file.read_text()) if wheel_file.exists() else None
        tags = tuple(wheel.get_all("Tag") or ()) if wheel is not None else ()
        top = _top_level(info)
        item = Installed(meta["Name"], meta["Version"], tags, top, info.name,
                         tuple(meta.get_all("Requires-Dist") or ()))
        found[canonical(item.name)] = item
    return found


def _top_level(info: Path) -> tuple[str, ...]:
    record = info / "RECORD"
    if not record.exists():
        return ()
    parts: set[str] = set()
    for line in record.read_text().splitlines():
        path = line.split(",", 1)[0]
        first = path.split("/", 1)[0]
        if not first or first.endswith(".dist-info") or first.startswith(".."):
            continue
        parts.add(first)
    return tuple(sorted(parts))


def verify(installed: dict[str, Installed], wanted: tuple[str, ...], target: Target, *,
           compiled: frozenset[str] = frozenset()) -> None:
    """Every requirement is there and every wheel is tagged for the target (``compiled``:
    canonical names of wheels compiled for it, tagged ``linux_<machine>``)."""
    names = {canonical(requirement_name(w)) for w in wanted}
    missing = sorted(names - installed.keys())
    if missing:
        raise InstallFailed(
            f"pip finished but {', '.join(missing)} is not installed for {target}; "
            "run the pip command printed by `lambdalite build --dry-run` to see why"
        )
    for item in installed.values():
        ours = canonical(item.name) in compiled
        if item.wheel_tags and not any(target.accepts_wheel_tag(t, compiled=ours)
                                       for t in item.wheel_tags):
            raise InstallFailed(
                f"{item.pin} was installed from a wheel tagged {', '.join(item.wheel_tags)}, "
                f"which does not load on {target}; pin a release that has a wheel for it"
            )


def lock_text(installed: dict[str, Installed], target: Target, picked: tuple[str, ...] = (),
              compiled: tuple[str, ...] = ()) -> str:
    lines = [f"# installed for {target} by lambdalite build; pip picked these versions"]
    lines += [f"# stepped down to fit: {note}" for note in picked]
    lines += [f"# {note}" for note in compiled]
    lines += sorted(item.pin for item in installed.values())
    return "\n".join(lines) + "\n"


def marker_environment(target: Target) -> dict[str, str]:
    """PEP 508 marker values on the target (Lambda: Linux, CPython X.Y, its machine)."""
    python = target.python_version
    return {
        "python_version": python, "python_full_version": f"{python}.0",
        "implementation_version": f"{python}.0", "implementation_name": "cpython",
        "platform_python_implementation": "CPython", "os_name": "posix",
        "sys_platform": "linux", "platform_system": "Linux",
        "platform_machine": target.arch.wheel_machine, "platform_release": "",
        "platform_version": "", "extra": "",
    }


def requested_closure(installed: dict[str, Installed], requested: tuple[str, ...],
                      target: Target, *, stop_at: tuple[str, ...] = ()) -> frozenset[str]:
    """Canonical names of the ``requested`` distributions and everything they require.

    Follows each installed METADATA's ``Requires-Dist`` whose marker holds on the target
    (extras only when asked for, e.g. ``tqdm[notebook]``); names in ``stop_at`` (the
    backend's own requirements) are neither included nor followed.
    """
    if not requested:
        return frozenset()
    # Deferred: packaging is needed only when the user asked for extra requirements.
    from packaging.requirements import InvalidRequirement, Requirement

    env = marker_environment(target)
    stop = {canonical(n) for n in stop_at}
    seen: set[str] = set()
    queue: list[tuple[str, frozenset[str]]] = []
    for text in requested:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue  # pip installed it anyway; nothing to follow
        queue.append((canonical(req.name), frozenset(req.extras)))
    while queue:
        name, extras = queue.pop()
        item = installed.get(name)
        if name in stop or item is None or name in seen:
            continue
        seen.add(name)
        for line in item.requires:
            try:
                dep = Requirement(line)
            except InvalidRequirement:
                continue
            if dep.marker is None or any(dep.marker.evaluate({**env, "extra": e})
                                         for e in (extras or {""})):
                queue.append((canonical(dep.name), frozenset(dep.extras)))
    return frozenset(seen)


def paths_of(installed: dict[str, Installed], names: frozenset[str]) -> frozenset[str]:
    """First path parts (packages, modules, dist-info folders) the distributions own."""
    return frozenset(part for name in names if (item := installed.get(name))
                     for part in (*item.top_level, item.dist_info))


def owner_of(installed: dict[str, Installed]) -> dict[str, str]:
    """First path part -> distribution name, for messages and the size report."""
    owners: dict[str, str] = {}
    for item in installed.values():
        for part in item.top_level:
            owners.setdefault(part, item.name)
    return owners
