"""The arm64 userland: Debian's arm64 python3.13 and the libraries a function loads, unpacked
into a cache folder, with the real awslambdaric aarch64 wheel beside it.

Why Debian's current stable release (13, trixie): it ships Python 3.13 for arm64, Lambda's
python3.13 (it ships no 3.12, so python3.12 arm64 packages are built and checked, not run).

How, without root-only state: ``apt-get`` is pointed at a private tree (``APT_CONFIG``: its
own sources, lists, status and cache under the folder), downloads the ``.deb`` files and
``dpkg-deb -x`` unpacks them; the system's apt lists, dpkg status and architectures are never
touched. The mirrors are the system's own (its ``/etc/apt`` sources), and bookworm's
``debian-archive-keyring`` holds trixie's keys. 14 packages, 12.4 MB of .deb files, 61 MB
unpacked, ~10 s (docs/BUILD.md).

Cache: ``$LAMBDALITE_ARM64_DIR``, else ``$XDG_CACHE_HOME/lambdalite/arm64``, else
``~/.cache/lambdalite/arm64``; one versioned folder (``trixie-v1``). It is assembled in a
temporary folder and moved into place with its manifest (``userland.json``: every package's
version and sha256) written last, so a half-done set-up is never used: it is done again.
Downloads happen only in ``set_up_userland`` (``lambdalite local setup-arm64``, or the
install step ``python -m lambdalite.local.provision``), never when a function runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdalite import progress as progress_
from lambdalite.emulation.qemu import Emulator, find_qemu, qemu_install_hint
from lambdalite.errors import DependencyError

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]

DIR_ENV = "LAMBDALITE_ARM64_DIR"
SUITE = "trixie"
LAYOUT_VERSION = 1
EMULATED_PYTHON = "3.13"
DEB_ARCH = "arm64"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
# The closure found step by step (docs/BUILD.md): the interpreter and its stdlib; ssl needs
# libzstd (trixie's libssl links it), ctypes libffi; awslambdaric's runtime_client and LiteRT
# link libstdc++ and libgcc_s; bz2, lzma and sqlite3 are in Lambda's Python too.
PACKAGES = ("python3.13-minimal", "libpython3.13-minimal", "libpython3.13-stdlib", "libc6",
            "libssl3t64", "libzstd1", "libexpat1", "zlib1g", "libffi8", "libstdc++6",
            "libgcc-s1", "libbz2-1.0", "liblzma5", "libsqlite3-0")
HEADERS_PACKAGE = "libpython3.13-dev"     # Python.h and the aarch64 pyconfig.h, for compiling
MANIFEST = "userland.json"
_HEADERS_DONE = ".complete"
# What the set-up proves the interpreter can do before the userland is used.
SMOKE_TEST = "import ssl, json, ctypes, zlib, bz2, lzma, sqlite3, awslambdaric, runtime_client"
RIC_REQUIREMENT = "awslambdaric"


@dataclass(frozen=True)
class Userland:
    """A ready userland (its manifest was written last)."""

    folder: Path
    packages: dict[str, str]          # Debian package -> version
    awslambdaric: str                 # the version in ``ric_dir``

    @property
    def root(self) -> Path:
        """What qemu's ``-L`` points at: the unpacked packages (merged /usr)."""
        return self.folder / "root"

    @property
    def python(self) -> str:
        """The interpreter, as a path inside the userland."""
        return f"/usr/bin/python{EMULATED_PYTHON}"

    @property
    def ric_dir(self) -> Path:
        """``pip install --target`` of awslambdaric's aarch64 cp313 wheel."""
        return self.folder / "awslambdaric"

    def emulator(self, qemu: str) -> Emulator:
        return Emulator(qemu, self.root)


def userland_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(DIR_ENV):
        base = Path(env[DIR_ENV])
    else:
        cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else (
            Path.home() / ".cache")
        base = cache / "lambdalite" / "arm64"
    return base / f"{SUITE}-v{LAYOUT_VERSION}"


def find_userland(environ: Mapping[str, str] | None = None) -> Userland | None:
    """The userland if it was set up completely (for this layout and package list)."""
    folder = userland_dir(environ)
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if data.get("layout") != LAYOUT_VERSION or sorted(data.get("packages", {})) != sorted(
            PACKAGES):
        return None
    found = Userland(folder, {k: v["version"] for k, v in data["packages"].items()},
                     str(data.get("awslambdaric", "")))
    python = found.root / found.python.lstrip("/")
    return found if python.is_file() and (found.ric_dir / "awslambdaric").is_dir() else None


def why_not_ready(environ: Mapping[str, str] | None = None) -> str | None:
    """None when arm64 python3.13 can run emulated here; else what is missing and the fix."""
    if find_qemu(environ) is None:
        return f"qemu-user is not installed: {qemu_install_hint()}"
    if find_userland(environ) is None:
        return (f"the arm64 userland is not set up in {userland_dir(environ)}: run "
                "`lambdalite local setup-arm64` once (downloads 14 Debian arm64 packages, "
                "~12 MB, ~10 s)")
    return None


def run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=False)


def set_up_userland(environ: Mapping[str, str] | None = None, *,
                    progress: progress_.Progress | None = None,
                    runner: Runner = run) -> Userland:
    """The userland, assembled now unless it is ready. About 5 units of ``progress``."""
    ready = find_userland(environ)
    if ready is not None:
        return ready
    folder = userland_dir(environ)
    qemu = find_qemu(environ)
    if qemu is None:
        raise DependencyError(f"cannot set up the arm64 userland: {qemu_install_hint()}")
    say = progress_.resolve(progress)
    say.total(5)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{folder.name}.tmp-", dir=folder.parent))
    try:
        apt = PrivateApt(work / "apt", runner)
        with progress_.step(say, f"apt-get update (Debian {SUITE} {DEB_ARCH}, private lists)"):
            apt.update()
        with progress_.step(say, f"download {len(PACKAGES)} Debian {DEB_ARCH} packages"):
            debs = apt.download(PACKAGES, work / "debs")
        with progress_.step(say, "unpack them (dpkg-deb -x)"):
            root = work / "root"
            for deb in debs.values():
                unpack(deb, root, runner)
            merge_usr(root)
        with progress_.step(say, "install awslambdaric for aarch64 python3.13 (pip)"):
            ric = install_ric(work / "awslambdaric", runner)
        with progress_.step(say, "check the emulated interpreter"):
            _smoke_test(Emulator(qemu, root), work / "awslambdaric", runner)
        manifest = {"layout": LAYOUT_VERSION, "suite": SUITE, "created": time.time(),
                    "packages": {name: {"version": _deb_version(deb), "file": deb.name,
                                        "sha256": _sha256(deb)}
                                 for name, deb in debs.items()},
                    "awslambdaric": ric}
        # Unpacked: neither the .deb files nor apt's lists (~180 MB) are needed again.
        shutil.rmtree(work / "debs")
        shutil.rmtree(work / "apt")
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        shutil.rmtree(folder, ignore_errors=True)   # a half-done or outdated one
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    done = find_userland(environ)
    assert done is not None, f"{folder} was just set up"
    return done


def target_headers(environ: Mapping[str, str] | None = None, *,
                   runner: Runner = run) -> tuple[Path, str]:
    """Include folder with Debian's aarch64 Python 3.13 headers (``python3.13/Python.h`` and
    the multiarch ``aarch64-linux-gnu/python3.13/pyconfig.h``), downloaded once into the
    userland's folder; and where they came from ("Debian libpython3.13-dev 3.13.5-2")."""
    folder = userland_dir(environ) / "headers"
    include = folder / "usr" / "include"
    done = folder / _HEADERS_DONE
    if not done.is_file():
        work = Path(tempfile.mkdtemp(prefix="headers.tmp-", dir=_parent(folder)))
        try:
            apt = PrivateApt(work / "apt", runner)
            apt.update()
            deb = apt.download((HEADERS_PACKAGE,), work / "debs")[HEADERS_PACKAGE]
            unpack(deb, work / "x", runner)
            (work / "x" / _HEADERS_DONE).write_text(f"Debian {HEADERS_PACKAGE} "
                                                    f"{_deb_version(deb)}\n")
            # Only the headers: the .deb also holds a 23 MB static libpython.
            shutil.rmtree(work / "x" / "usr" / "lib", ignore_errors=True)
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(work / "x", folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return include, done.read_text().strip()


def _parent(folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder.parent


# -- the private apt tree ----------------------------------------------------------------------

class PrivateApt:
    """apt-get with its own configuration, lists, status and cache under ``home``."""

    def __init__(self, home: Path, runner: Runner = run,
                 system_sources: Path = Path("/etc/apt")) -> None:
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            raise DependencyError("the arm64 userland is made from Debian packages: apt-get "
                                  "and dpkg-deb are needed (a Debian or Ubuntu machine)")
        self.home = home
        self.runner = runner
        for sub in ("etc/sources.list.d", "etc/preferences.d", "etc/apt.conf.d",
                    "state/lists/partial", "cache/archives/partial"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        (home / "state" / "status").touch()
        (home / "etc" / "sources.list").write_text(sources_list(mirrors(system_sources)))
        sandbox = 'APT::Sandbox::User "root";\n' if os.geteuid() == 0 else ""
        (home / "apt.conf").write_text(
            f'Dir::Etc "{home}/etc"; Dir::Etc::SourceList "{home}/etc/sources.list";\n'
            f'Dir::Etc::SourceParts "{home}/etc/sources.list.d";\n'
            f'Dir::Etc::Parts "{home}/etc/apt.conf.d";\n'
            f'Dir::Etc::Preferences "{home}/etc/preferences";\n'
            f'Dir::Etc::PreferencesParts "{home}/etc/preferences.d";\n'
            f'Dir::State "{home}/state"; Dir::State::status "{home}/state/status";\n'
            f'Dir::Cache "{home}/cache";\n'
            f'APT::Architecture "{DEB_ARCH}"; APT::Architectures {{ "{DEB_ARCH}"; }};\n'
            f"{sandbox}")

    def _apt(self, args: Sequence[str], cwd: Path | None = None) -> str:
        cmd = ["env", f"APT_CONFIG={self.home / 'apt.conf'}", "apt-get", "-q", *args]
        if cwd is not None:
            cmd = ["sh", "-c", 'cd "$0" && exec "$@"', str(cwd), *cmd]
        done = self.runner(cmd)
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
            raise DependencyError(f"apt-get {args[0]} of Debian {SUITE} {DEB_ARCH} packages "
                                  f"failed: {' / '.join(lines[-3:]) or 'no output'}")
        return done.stdout

    def update(self) -> None:
        self._apt(["update"])

    def download(self, packages: Sequence[str], into: Path) -> dict[str, Path]:
        into.mkdir(parents=True, exist_ok=True)
        self._apt(["download", *packages], cwd=into)
        found: dict[str, Path] = {}
        for name in packages:
            debs = sorted(into.glob(f"{name}_*_{DEB_ARCH}.deb")) + sorted(
                into.glob(f"{name}_*_all.deb"))
            if not debs:
                raise DependencyError(f"apt-get download gave no {name} .deb in {into}")
            found[name] = debs[0]
        return found


def mirrors(etc: Path = Path("/etc/apt")) -> tuple[str, str | None]:
    """The system's Debian archive and security archive URIs (deb822 ``*.sources`` files or
    one-line ``sources.list``), so the userland comes from the mirrors this machine uses."""
    main: str | None = None
    security: str | None = None
    for uri, suite in _sources(etc):
        if suite.endswith("-security"):
            security = security or uri
        elif not suite.endswith(("-backports", "-proposed-updates")):
            main = main or uri
    if main is None:
        raise DependencyError(f"no Debian archive in {etc}/sources.list(.d): the arm64 "
                              "userland is fetched from the mirrors apt is set up with")
    return main, security


def _sources(etc: Path) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    parts = etc / "sources.list.d"
    for path in sorted(parts.glob("*.sources")) if parts.is_dir() else []:
        for stanza in re.split(r"\n\s*\n", path.read_text(errors="replace")):
            fields = _deb822(stanza)
            if "deb" not in fields.get("types", "").split() or fields.get(
                    "enabled", "yes").lower() == "no":
                continue
            pairs += [(u, s) for u in fields.get("uris", "").split()
                      for s in fields.get("suites", "").split()]
    lists = [etc / "sources.list", *(sorted(parts.glob("*.list")) if parts.is_dir() else [])]
    for path in lists:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                pairs.append((words[1], words[2]))
    return pairs


def _deb822(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    return fields


def sources_list(uris: tuple[str, str | None]) -> str:
    main, security = uris
    opts = f"[arch={DEB_ARCH} signed-by={KEYRING}]"
    lines = [f"deb {opts} {main} {SUITE} main", f"deb {opts} {main} {SUITE}-updates main"]
    if security:
        lines.append(f"deb {opts} {security} {SUITE}-security main")
    return "\n".join(lines) + "\n"


# -- unpacking and the runtime client ------------------------------------------------------------

def unpack(deb: Path, root: Path, runner: Runner = run) -> None:
    root.mkdir(parents=True, exist_ok=True)
    done = runner(["dpkg-deb", "-x", str(deb), str(root)])
    if done.returncode != 0:
        raise DependencyError(f"dpkg-deb -x {deb.name} failed: {done.stderr.strip()[-300:]}")


def merge_usr(root: Path) -> None:
    """trixie ships everything under usr/ (merged /usr): the loader is looked for as
    /lib/ld-linux-aarch64.so.1, so lib, bin and sbin point into usr/ as on a Debian system."""
    for name in ("lib", "bin", "sbin"):
        link = root / name
        if not link.exists() and not link.is_symlink() and (root / "usr" / name).is_dir():
            link.symlink_to(f"usr/{name}")


def install_ric(target: Path, runner: Runner = run) -> str:
    """awslambdaric's aarch64 cp313 wheel (manylinux2014: glibc 2.17) with pip --platform; a
    current pip (the running interpreter's) resolves for another Python correctly."""
    version = EMULATED_PYTHON
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-compile", "--target", str(target), "--platform", "manylinux2014_aarch64",
           "--python-version", version, "--implementation", "cp",
           "--abi", f"cp{version.replace('.', '')}", "--abi", "abi3", "--abi", "none",
           "--only-binary=:all:", RIC_REQUIREMENT]
    done = runner(cmd)
    if done.returncode != 0:
        tail = [ln for ln in done.stderr.splitlines() if ln.startswith("ERROR")][-2:]
        raise DependencyError("pip could not install awslambdaric for aarch64 python"
                              f"{version}: {' / '.join(tail) or done.stderr.strip()[-300:]}")
    versions = [p.name.removesuffix(".dist-info").split("-")[1]
                for p in target.glob("awslambdaric-*.dist-info")]
    return versions[0] if versions else ""


def _smoke_test(emulator: Emulator, ric_dir: Path, runner: Runner) -> None:
    done = runner(["env", f"PYTHONPATH={ric_dir}", *emulator.command(
        f"/usr/bin/python{EMULATED_PYTHON}", ["-c", SMOKE_TEST])])
    if done.returncode != 0:
        raise DependencyError("the arm64 userland does not work under qemu "
                              f"({SMOKE_TEST!r} failed): {done.stderr.strip()[-400:]}")


def _deb_version(deb: Path) -> str:
    """``name_version_arch.deb`` (apt writes ``:`` of an epoch as ``%3a``)."""
    return deb.stem.split("_")[1].replace("%3a", ":")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
