"""Pre-ship checks on every ELF file: machine vs target, GLIBC symbol versions vs runtime.

A wheel's manylinux tag is a promise, not a proof: ``tflite-runtime==2.14.0`` says
manylinux2014 (glibc 2.17) but its extension needs GLIBC_2.29, which is exactly the
``GLIBC_2.27 not found`` class of error Lambda reports at import. So we read what each
file really needs from its ``.gnu.version_r`` section.

The same section says which ``GLIBCXX_3.4.x`` / ``CXXABI_1.3.x`` a file needs from the
system ``libstdc++.so.6`` (``GLIBCXX_3.4.30 not found`` at import when it is older). Only
needs against that exact name count: a wheel that bundles its own libstdc++ (auditwheel puts
it in ``<pkg>.libs/`` as ``libstdc++-<hash>.so.6...``) needs the bundled file instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from lambdalite.bundle.errors import ArchMismatch, GlibcTooNew, LibstdcxxTooNew
from lambdalite.bundle.targets import Target
from lambdalite.lambda_facts import ARCHS, BUILDABLE_RUNTIMES, RUNTIMES, Runtime

ELF_MAGIC = b"\x7fELF"
_GLIBC = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.\d+)?$")
_LIBSTDCXX = re.compile(r"^(GLIBCXX|CXXABI)_(\d+(?:\.\d+)*)$")  # not CXXABI_TM_1, GLIBCXX_LDBL_*
SYSTEM_LIBSTDCXX = "libstdc++.so.6"
_LABELS = {a.elf_machine: a.elf_label for a in ARCHS.values()}


@dataclass(frozen=True)
class ElfInfo:
    path: str                        # relative to the scanned root
    machine: str                     # e_machine, e.g. EM_X86_64
    glibc: tuple[int, int] | None    # highest GLIBC_x.y it needs, None if none
    # Highest GLIBCXX_/CXXABI_ version it needs from the system libstdc++.so.6, None if none.
    glibcxx: tuple[int, ...] | None = None
    cxxabi: tuple[int, ...] | None = None

    @property
    def glibc_str(self) -> str | None:
        return f"{self.glibc[0]}.{self.glibc[1]}" if self.glibc else None

    @property
    def glibcxx_str(self) -> str | None:
        return version_str("GLIBCXX", self.glibcxx)


def version_str(prefix: str, version: tuple[int, ...] | None) -> str | None:
    return f"{prefix}_{'.'.join(map(str, version))}" if version else None


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == ELF_MAGIC
    except OSError:
        return False


def read_elf(path: Path, root: Path) -> ElfInfo:
    with path.open("rb") as fh:
        elf = ELFFile(fh)
        machine = str(elf["e_machine"])
        best: tuple[int, int] | None = None
        cxx: dict[str, tuple[int, ...]] = {}
        for section in elf.iter_sections():
            if not isinstance(section, GNUVerNeedSection):
                continue
            for verneed, aux_iter in section.iter_versions():
                system_cxx = verneed.name == SYSTEM_LIBSTDCXX
                for aux in aux_iter:
                    if m := _GLIBC.match(aux.name):
                        version = (int(m.group(1)), int(m.group(2)))
                        best = version if best is None or version > best else best
                    elif system_cxx and (m := _LIBSTDCXX.match(aux.name)):
                        number = tuple(int(n) for n in m.group(2).split("."))
                        cxx[m.group(1)] = max(cxx.get(m.group(1), number), number)
    return ElfInfo(path.relative_to(root).as_posix(), machine, best,
                   cxx.get("GLIBCXX"), cxx.get("CXXABI"))


def needed(path: Path) -> tuple[str, ...]:
    """The DT_NEEDED entries of an ELF file: the libraries the loader maps with it."""
    with path.open("rb") as fh:
        return tuple(str(tag.needed)  # type: ignore[attr-defined]  # set for DT_NEEDED
                     for section in ELFFile(fh).iter_sections()
                     if isinstance(section, DynamicSection)
                     for tag in section.iter_tags() if tag.entry.d_tag == "DT_NEEDED")


def scan(root: Path) -> Iterator[ElfInfo]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and is_elf(path):
            try:
                yield read_elf(path, root)
            except ELFError as exc:
                raise ArchMismatch(f"{path}: not a readable ELF file ({exc}); remove it") from exc


def check_arch(infos: Iterable[ElfInfo], target: Target) -> None:
    wrong = [i for i in infos if i.machine != target.arch.elf_machine]
    if wrong:
        first = wrong[0]
        got = _LABELS.get(first.machine, first.machine)
        raise ArchMismatch(
            f"{len(wrong)} ELF file(s) are not {target.arch.elf_label}, e.g. {first.path} is "
            f"{got}; the package would fail to import on {target.arch.name} Lambda. Fix: "
            f"reinstall for --arch {target.arch.name} (pip --platform) or drop the package that "
            "ships it"
        )


def highest_glibc(infos: Iterable[ElfInfo]) -> ElfInfo | None:
    needing = [i for i in infos if i.glibc is not None]
    return max(needing, key=lambda i: i.glibc or (0, 0)) if needing else None


def check_glibc(infos: Iterable[ElfInfo], target: Target, owners: dict[str, str]) -> None:
    have = target.runtime.glibc
    too_new = sorted((i for i in infos if i.glibc and i.glibc > have),
                     key=lambda i: i.glibc or (0, 0), reverse=True)
    if not too_new:
        return
    worst = too_new[0]
    owner = _owner(worst, owners)
    others = f" (and {len(too_new) - 1} more file(s))" if len(too_new) > 1 else ""
    newer = _fitting_runtime(target.runtime, lambda rt: rt.glibc >= (worst.glibc or (0, 0)))
    runtime_fix = (f"use --runtime {newer.name} ({newer.os}, glibc {newer.glibc_str})"
                   if newer else "")
    # No --package image here: the image's base OS is the runtime's, with the same glibc.
    raise GlibcTooNew(
        f"{worst.path}{others} needs GLIBC_{worst.glibc_str} but {target.runtime.name} "
        f"({target.runtime.os}) has glibc {target.runtime.glibc_str}: it would fail on Lambda "
        f"with 'GLIBC_{worst.glibc_str} not found'. Fix: {runtime_fix + ' or ' if newer else ''}"
        f"pin an older {owner} release built for glibc <= {target.runtime.glibc_str} "
        f"(--extra-requirement '{owner}==<version>'); a container image does not help, it "
        f"runs on the same {target.runtime.os}",
        package=owner, fix=runtime_fix,
        reason=f"needs GLIBC_{worst.glibc_str}, {_where(target)} has {target.runtime.glibc_str}",
    )


def _owner(info: ElfInfo, owners: dict[str, str]) -> str:
    """The distribution that ships the file (its first path part when none is known)."""
    top = info.path.split("/", 1)[0]
    return owners.get(top, top)


def _fitting_runtime(current: Runtime, fits: Callable[[Runtime], bool]) -> Runtime | None:
    """The oldest buildable runtime newer than ``current`` that ``fits``."""
    for name in BUILDABLE_RUNTIMES:
        rt = RUNTIMES[name]
        if _py(rt) > _py(current) and fits(rt):
            return rt
    return None


def _py(rt: Runtime) -> tuple[int, ...]:
    return tuple(int(n) for n in rt.python.split("."))


def _libstdcxx_excess(info: ElfInfo, rt: Runtime) -> str | None:
    """The first symbol version the file needs that ``rt``'s libstdc++ lacks, if any."""
    if info.glibcxx and info.glibcxx > rt.glibcxx:
        return version_str("GLIBCXX", info.glibcxx)
    if info.cxxabi and info.cxxabi > rt.cxxabi:
        return version_str("CXXABI", info.cxxabi)
    return None


def highest_libstdcxx(infos: Iterable[ElfInfo]) -> ElfInfo | None:
    needing = [i for i in infos if i.glibcxx is not None]
    return max(needing, key=lambda i: i.glibcxx or ()) if needing else None


def check_libstdcxx(infos: Iterable[ElfInfo], target: Target, owners: dict[str, str]) -> None:
    rt = target.runtime
    too_new = sorted(((i, need) for i in infos if (need := _libstdcxx_excess(i, rt))),
                     key=lambda pair: (pair[0].glibcxx or (), pair[0].cxxabi or ()),
                     reverse=True)
    if not too_new:
        return
    worst, need = too_new[0]
    owner = _owner(worst, owners)
    others = f" (and {len(too_new) - 1} more file(s))" if len(too_new) > 1 else ""
    newer = _fitting_runtime(rt, lambda r: _libstdcxx_excess(worst, r) is None)
    runtime_fix = (f"use --runtime {newer.name} ({newer.os}, libstdc++ of GCC "
                   f"{newer.libstdcxx_gcc}), " if newer else "")
    have = (version_str("GLIBCXX", rt.glibcxx) if need.startswith("GLIBCXX")
            else version_str("CXXABI", rt.cxxabi))
    raise LibstdcxxTooNew(
        f"{worst.path}{others} needs {need} from the system {SYSTEM_LIBSTDCXX} but {rt.name} "
        f"({rt.os}) has the libstdc++ of GCC {rt.libstdcxx_gcc} (up to "
        f"{version_str('GLIBCXX', rt.glibcxx)}, {version_str('CXXABI', rt.cxxabi)}): it would "
        f"fail on Lambda with '{need} not found'. Fix: {runtime_fix}pin an older {owner} "
        f"release built with GCC <= {rt.libstdcxx_gcc} (--extra-requirement "
        f"'{owner}==<version>') or one whose wheel bundles its own libstdc++",
        package=owner, fix=runtime_fix.rstrip(", "),
        reason=f"needs {need}, {_where(target)} has {have}",
    )


def _where(target: Target) -> str:
    """e.g. "python3.12 arm64 (Amazon Linux 2023)"."""
    return f"{target.runtime.name} {target.arch.name} ({target.runtime.os})"
