"""Compile what has no wheel: a requirement's sdist built for the target, with zig as the cross
compiler, instead of a failed install.

``bchlib`` publishes x86_64 wheels for cp36..cp312 only: no aarch64 wheel at all and no cp313
wheel, so python3.13 needs this on either architecture. When pip finds no wheel of a
requirement for the target, ``install_compiling`` compiles its sdist and installs again with
the compiled wheel on pip's ``--find-links``:

* zig (PyPI's ``ziglang``, the ``lambdalite[compile]`` extra) is the C/C++ compiler:
  ``zig cc -target aarch64-linux-gnu.2.34`` links against the runtime's glibc, whatever the
  glibc of this machine, and ``zig c++`` links LLVM's libc++ statically (no GLIBCXX needs);
  ``-fno-sanitize=undefined`` always, ``-O2`` in CFLAGS: with no ``-O`` zig builds in Debug
  mode with UBSan, which bundled a 4 MB runtime needing GLIBC_2.34 or left ``__ubsan_*``
  undefined (measured, docs/BUILD.md);
* a CPython of the target's minor version on this machine runs ``pip wheel --no-deps
  --no-binary NAME`` (the wheel's cp3X tag and ABI come from the running Python), with
  ``_PYTHON_HOST_PLATFORM`` and ``SETUPTOOLS_EXT_SUFFIX`` set for the target machine;
* the target Python's headers: for aarch64 python3.13, Debian's ``libpython3.13-dev``
  (``lambdalite.emulation.target_headers``); otherwise the host CPython's own (same version;
  its x86_64 ``pyconfig.h`` differs from the aarch64 one only in ``HAVE_GCC_ASM_FOR_X87``,
  ``Py_ENABLE_SHARED`` and ``Py_RL_STARTUP_HOOK_TAKES_ARGS``, none of which the public C API
  reads), and the build table says which.

The wheel is checked (ELF machine, GLIBC, GLIBCXX) before it is kept, and again with the whole
task root. It is cached per target for a day like the deps cache (a ``==`` pin for good), and
keeps the plain ``linux_<machine>`` tag pip gives it: it is not an audited manylinux wheel,
the checks vouch for it. setuptools/distutils sdists are covered; meson, CMake and Rust builds
need their own cross set-up and are reported as not compilable, as is a missing C header or
library, with the file and line, what it belongs to and the fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdalite import progress as progress_
from lambdalite.bundle import elfcheck, install
from lambdalite.bundle.errors import CompileFailed, NoWheel
from lambdalite.bundle.resolve import canonical
from lambdalite.bundle.slim import find_interpreter
from lambdalite.bundle.targets import Target
from lambdalite.errors import DependencyError

Env = Mapping[str, str]
Builder = Callable[[Sequence[str], Env], "subprocess.CompletedProcess[str]"]

ZIG_PACKAGE = "ziglang"
COMPILE_EXTRA = "lambdalite[compile]"
MAX_COMPILED = 5                  # sdists compiled for one package: more means a loop
CACHE_MAX_AGE_S = 24 * 3600
_DONE = "compiled.json"           # written last: an entry without it is unfinished
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_SDIST = re.compile(r"([A-Za-z0-9][A-Za-z0-9._]*?)-(\d[A-Za-z0-9.+!]*)\.(?:tar\.gz|zip|tar\.bz2)\b")
# clang's (zig's) and gcc's words for a missing header, at the start of a (pip-indented) line.
_MISSING_HEADER = (re.compile(r"^\s*(?P<file>[^\s:]+):(?P<line>\d+):\d+: fatal error: "
                              r"'(?P<h>[^']+)' file not found", re.M),
                   re.compile(r"^\s*(?P<file>[^\s:]+):(?P<line>\d+):\d+: fatal error: "
                              r"(?P<h>[^\s:]+): No such file or directory", re.M))
_MISSING_TOOL = re.compile(r"error: command '([^']+)' failed: No such file or directory")
_MISSING_LIBRARY = re.compile(r"unable to find library -l(\S+)|cannot find -l(\S+)")
# What a missing header belongs to, for the message (the first match wins).
HEADER_OWNERS: tuple[tuple[str, str], ...] = (
    ("ffi.h", "libffi"), ("openssl/", "OpenSSL"), ("zlib.h", "zlib"), ("lber.h", "OpenLDAP"),
    ("ldap.h", "OpenLDAP"), ("sasl/", "Cyrus SASL"), ("libxml/", "libxml2"),
    ("jpeglib.h", "libjpeg"), ("png.h", "libpng"), ("yaml.h", "libyaml"),
    ("sqlite3.h", "SQLite"), ("libpq-fe.h", "PostgreSQL's libpq"), ("mysql.h", "MySQL's client"),
    ("krb5", "Kerberos"), ("Python.h", "the target Python's headers"),
)
# Build systems other than setuptools, recognised in the failed build's output.
OTHER_BUILDS: tuple[tuple[str, str], ...] = (
    ("meson", "meson (meson-python)"), ("cmake", "CMake (scikit-build)"),
    ("maturin", "Rust (maturin)"), ("cargo", "Rust (cargo)"), ("gfortran", "Fortran"),
)


@dataclass(frozen=True)
class Compiled:
    """A wheel compiled for the target, and how."""

    name: str
    version: str
    wheel: Path
    arch: str
    compiler: str                 # "zig cc -target aarch64-linux-gnu.2.34"
    headers: str                  # where the target Python's headers came from
    glibc_needed: str | None

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"

    def note(self) -> str:
        """The build table's line: "bchlib 2.1.3: compiled from source for arm64 (...)"."""
        needs = f"needs GLIBC_{self.glibc_needed}" if self.glibc_needed else "needs no glibc"
        return (f"{self.name} {self.version}: compiled from source for {self.arch} (no wheel "
                f"for the target; {self.compiler}, Python headers: {self.headers}; {needs})")


# -- installing with compiled wheels ------------------------------------------------------------

def install_compiling(root: Path, requirements: Sequence[str], target: Target, *,
                      progress: progress_.Progress | None = None) -> tuple[Compiled, ...]:
    """``install.install`` into ``root``; each requirement pip has no wheel for is compiled
    for the target first (cached) and installed from it. Which ones were compiled."""
    say = progress_.resolve(progress)
    compiled: dict[str, Compiled] = {}
    while True:
        folders = sorted({c.wheel.parent for c in compiled.values()})
        try:
            install.install(root, requirements, target, find_links=folders)
            return tuple(compiled.values())
        except NoWheel as err:
            name = canonical(_name_of(err.requirement))
            if name in compiled or len(compiled) >= MAX_COMPILED:
                raise
            say.update(f"compile {err.requirement} for {target} (it has no wheel)")
            compiled[name] = compile_wheel(err.requirement, target)


def _name_of(requirement: str) -> str:
    m = _NAME.match(requirement)
    return m.group(1) if m else requirement


# -- compiling one sdist --------------------------------------------------------------------------

def compile_wheel(requirement: str, target: Target, *, builder: Builder | None = None,
                  environ: Env | None = None) -> Compiled:
    """``requirement``'s sdist compiled for ``target`` (from the cache when fresh)."""
    env = dict(os.environ if environ is None else environ)
    entry = _entry(requirement, target)
    cached = _cached(entry, requirement)
    if cached is not None:
        return cached
    toolchain = Toolchain.find(requirement, target, env)
    tmp = Path(tempfile.mkdtemp(prefix=f"{entry.name}.tmp-", dir=entry.parent))
    try:
        out = tmp / "wheel"
        cmd = [toolchain.python, "-m", "pip", "wheel", "--no-deps", "--no-binary",
               _name_of(requirement), "--disable-pip-version-check", "--no-color", "-w",
               str(out), requirement]
        # pip may answer from its cache of wheels it built before: that cache matches on the
        # wheel's tags (cp3X and linux_<machine> from _PYTHON_HOST_PLATFORM), and every
        # runtime of a Python version has one glibc; the ELF checks below run on it anyway.
        proc = (builder or _run)(cmd, toolchain.environ(tmp / "bin", env))
        wheels = sorted(out.glob("*.whl"))
        if proc.returncode != 0 or len(wheels) != 1:
            log = entry.parent / f"{canonical(_name_of(requirement))}.log"
            log.write_text(f"$ {shlex.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
            raise compile_error(requirement, target, toolchain, proc.stdout + proc.stderr, log)
        name, version = wheels[0].name.split("-")[:2]
        glibc = check_wheel(wheels[0], target, name)
        result = Compiled(name.replace("_", "-"), version, entry / wheels[0].name,
                          target.arch.name, toolchain.compiler, toolchain.headers_from, glibc)
        shutil.move(str(wheels[0]), tmp / wheels[0].name)
        (tmp / _DONE).write_text(json.dumps(
            {"requirement": requirement, "created": time.time(), "name": result.name,
             "version": version, "wheel": wheels[0].name, "compiler": result.compiler,
             "headers": result.headers, "glibc_needed": glibc, "arch": result.arch},
            indent=2) + "\n")
        shutil.rmtree(tmp / "wheel")
        shutil.rmtree(tmp / "bin", ignore_errors=True)
        shutil.rmtree(entry, ignore_errors=True)
        with contextlib.suppress(OSError):   # another build kept one meanwhile: use theirs
            os.replace(tmp, entry)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_wheel(wheel: Path, target: Target, name: str) -> str | None:
    """The compiled wheel's ELF files against the target (raises CheckFailed); the highest
    GLIBC it needs."""
    with tempfile.TemporaryDirectory(prefix="lambdalite-compiled-") as tmp:
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(tmp)
        infos = list(elfcheck.scan(Path(tmp)))
        owners = {child.name: name for child in Path(tmp).iterdir()}
        elfcheck.check_arch(infos, target)
        elfcheck.check_glibc(infos, target, owners)
        elfcheck.check_libstdcxx(infos, target, owners)
    worst = elfcheck.highest_glibc(infos)
    return worst.glibc_str if worst else None


def _entry(requirement: str, target: Target) -> Path:
    """The cache folder of ``requirement`` for ``target``: one folder per target."""
    key = f"cp{target.python_version.replace('.', '')}-{target.zig_target}"
    folder = install.compiled_cache_root() / key
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(requirement.strip().encode()).hexdigest()[:12]
    return folder / f"{canonical(_name_of(requirement))}-{digest}"


def _cached(entry: Path, requirement: str) -> Compiled | None:
    try:
        data = json.loads((entry / _DONE).read_text())
    except (OSError, ValueError):
        return None
    wheel = entry / data["wheel"]
    pinned = "==" in requirement
    if not wheel.is_file() or (not pinned and time.time() - data["created"] > CACHE_MAX_AGE_S):
        return None
    return Compiled(data["name"], data["version"], wheel, data["arch"], data["compiler"],
                    data["headers"], data["glibc_needed"])


def _run(cmd: Sequence[str], env: Env) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, env=dict(env), check=False)


# -- the toolchain --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Toolchain:
    target: Target
    python: str                   # a host CPython of the target's version: drives setuptools
    zig: str                      # the zig executable the ziglang package ships
    include: Path | None          # the target Python's headers (None: the host Python's own)
    headers_from: str

    @classmethod
    def find(cls, requirement: str, target: Target, env: Env) -> Toolchain:
        """What compiling for ``target`` needs, or CompileFailed naming what is missing."""
        what = f"cannot compile {requirement} for {target}: it has no wheel for that target"
        zig = zig_executable()
        if zig is None:
            raise CompileFailed(f"{what}, and the cross compiler is not installed. Fix: "
                                f"`pip install '{COMPILE_EXTRA}'` (zig, as PyPI's {ZIG_PACKAGE} "
                                "package), or pin a release that has a wheel for the target")
        version = target.python_version
        python = find_interpreter(version)
        if python is None:
            raise CompileFailed(f"{what}, and compiling needs a CPython {version} on this "
                                f"machine to run the sdist's build (none found: the host's, "
                                f"pyenv's versions/{version}.*). Fix: `pyenv install {version}`"
                                ", or pin a release that has a wheel for the target")
        include: Path | None = None
        headers = f"the host CPython {version}'s"
        if target.arch.wheel_machine != _host_machine():
            include, headers = _cross_headers(
                target, f"{headers} (same version; its {_host_machine()} pyconfig.h)", env)
        return cls(target, python, zig, include, headers)

    @property
    def compiler(self) -> str:
        return f"zig cc -target {self.target.zig_target}"

    def environ(self, bin_dir: Path, env: Env) -> dict[str, str]:
        """The build's environment: zig wrappers as CC/CXX/LDSHARED/AR and the target's
        platform and extension suffix."""
        bin_dir.mkdir(parents=True, exist_ok=True)
        # The executable itself, not `python -m ziglang`: inside pip's isolated build a
        # Python's sitecustomize hides the site-packages that hold ziglang.
        zig = shlex.quote(self.zig)
        flags = f"-target {self.target.zig_target} -fno-sanitize=undefined"
        tools = {"cc": f"{zig} cc {flags}", "c++": f"{zig} c++ {flags}", "ar": f"{zig} ar"}
        for name, command in tools.items():
            wrapper = bin_dir / f"zig-{name}"
            wrapper.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
            wrapper.chmod(0o755)
        cc, cxx = bin_dir / "zig-cc", bin_dir / "zig-c++"
        machine = self.target.arch.wheel_machine
        cflags = "-O2 -DNDEBUG -fwrapv"
        if self.include is not None:
            # Debian's python3.X/pyconfig.h includes <aarch64-linux-gnu/python3.X/pyconfig.h>.
            cflags += f" -I{self.include}/python{self.target.python_version} -I{self.include}"
        abi = self.target.python_version.replace(".", "")
        return {
            **env,
            "CC": str(cc), "CXX": str(cxx), "AR": str(bin_dir / "zig-ar"),
            "LDSHARED": f"{cc} -shared -s", "LDCXXSHARED": f"{cxx} -shared -s",
            "CFLAGS": cflags, "CXXFLAGS": cflags,
            "_PYTHON_HOST_PLATFORM": f"linux-{machine}",
            "SETUPTOOLS_EXT_SUFFIX": f".cpython-{abi}-{machine}-linux-gnu.so",
        }


def zig_executable() -> str | None:
    """The ``zig`` binary inside the installed ziglang package, if there is one."""
    spec = importlib.util.find_spec(ZIG_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    zig = Path(next(iter(spec.submodule_search_locations))) / "zig"
    return str(zig) if os.access(zig, os.X_OK) else None


def _host_machine() -> str:
    return os.uname().machine


def _cross_headers(target: Target, fallback: str, env: Env) -> tuple[Path | None, str]:
    """Debian's arm64 headers for the emulated userland's Python; the host's otherwise."""
    from lambdalite import emulation  # deferred: only a cross build for arm64 needs it

    if target.python_version != emulation.EMULATED_PYTHON or shutil.which("apt-get") is None:
        return None, fallback
    try:
        include, origin = emulation.target_headers(env)
    except DependencyError:
        return None, fallback
    return include, origin


# -- why it failed ------------------------------------------------------------------------------

def compile_error(requirement: str, target: Target, toolchain: Toolchain, output: str,
                  log: Path) -> CompileFailed:
    """CompileFailed naming the package, what the compiler lacked and the fix."""
    sdist = _SDIST.search(output)
    name = _name_of(requirement)
    shown = f"{name} {sdist.group(2)}" if sdist else requirement
    rt = target.runtime
    head = (f"cannot compile {shown} for {rt.name} {target.arch.name} ({rt.os}, glibc "
            f"{rt.glibc_str}): it has no wheel for that target")
    pin = (f"pin a release that has a wheel for {target.runtime.name} {target.arch.name} "
           f"(--extra-requirement '{name}==<version>'), or drop it")
    header = next((m for rx in _MISSING_HEADER if (m := rx.search(output))), None)
    tool = _MISSING_TOOL.search(output)
    library = _MISSING_LIBRARY.search(output)
    other = next((label for word, label in OTHER_BUILDS
                  if re.search(rf"\b{word}\b", output, re.I)), None)
    if header is not None:
        h = header.group("h")
        owner = next((lib for key, lib in HEADER_OWNERS if key in h), f"the library with <{h}>")
        why = (f"{header.group('file')}:{header.group('line')} includes <{h}>, which the cross "
               f"compiler ({toolchain.compiler}) does not have: it needs {owner}'s development "
               f"headers and library for {target.arch.wheel_machine}, and the result would need "
               "that library at run time, which Lambda's OS may not have")
        fix = (f"{pin}; a C library the function needs must be linked statically or shipped "
               "in the package, which lambdalite does not do for you")
    elif tool is not None:
        why = f"its build runs `{tool.group(1)}`, which is not installed here"
        fix = f"install {tool.group(1)}, or {pin}"
    elif library is not None:
        lib = library.group(1) or library.group(2)
        why = (f"it links -l{lib}, which the cross compiler ({toolchain.compiler}) has no "
               f"{target.arch.wheel_machine} build of")
        fix = pin
    elif other is not None:
        why = (f"it builds with {other}, which lambdalite does not cross-compile (it compiles "
               "setuptools/distutils C and C++ extensions)")
        fix = pin
    else:
        why = "its build failed: " + " / ".join(_error_lines(output)[-3:])
        fix = pin
    return CompileFailed(f"{head}, and compiling its sdist failed: {why}. Fix: {fix}. "
                         f"Full log: {log}")


def _error_lines(output: str) -> list[str]:
    return [ln.strip() for ln in output.splitlines()
            if re.search(r"\berror\b", ln, re.I) and ln.strip()] or ["no error line"]


__all__ = ["Compiled", "Toolchain", "check_wheel", "compile_error", "compile_wheel",
           "install_compiling"]
