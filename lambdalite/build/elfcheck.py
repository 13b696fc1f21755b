"""Pre-ship checks on every ELF file: machine vs target, GLIBC symbol versions vs runtime.

A wheel's manylinux tag is a promise, not a proof: ``tflite-runtime==2.14.0`` says
manylinux2014 (glibc 2.17) but its extension needs GLIBC_2.29, which is exactly the
``GLIBC_2.27 not found`` class of error Lambda reports at import. So we read what each
file really needs from its ``.gnu.version_r`` section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from lambdalite.build.errors import ArchMismatch, GlibcTooNew
from lambdalite.build.targets import Target
from lambdalite.platform import ARCHS

ELF_MAGIC = b"\x7fELF"
_GLIBC = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.\d+)?$")
_LABELS = {a.elf_machine: a.elf_label for a in ARCHS.values()}


@dataclass(frozen=True)
class ElfInfo:
    path: str                        # relative to the scanned root
    machine: str                     # e_machine, e.g. EM_X86_64
    glibc: tuple[int, int] | None    # highest GLIBC_x.y it needs, None if none

    @property
    def glibc_str(self) -> str | None:
        return f"{self.glibc[0]}.{self.glibc[1]}" if self.glibc else None


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
        for section in elf.iter_sections():
            if not isinstance(section, GNUVerNeedSection):
                continue
            for _verneed, aux_iter in section.iter_versions():
                for aux in aux_iter:
                    m = _GLIBC.match(aux.name)
                    if m:
                        version = (int(m.group(1)), int(m.group(2)))
                        best = version if best is None or version > best else best
    return ElfInfo(path.relative_to(root).as_posix(), machine, best)


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
    owner = owners.get(worst.path.split("/", 1)[0], worst.path.split("/", 1)[0])
    others = f" (and {len(too_new) - 1} more file(s))" if len(too_new) > 1 else ""
    newer = [r for r in ("python3.12",) if target.runtime.glibc < (2, 34)]
    runtime_fix = f"use --runtime {newer[0]} (Amazon Linux 2023, glibc 2.34), " if newer else ""
    raise GlibcTooNew(
        f"{worst.path}{others} needs GLIBC_{worst.glibc_str} but {target.runtime.name} "
        f"({target.runtime.os}) has glibc {target.runtime.glibc_str}: it would fail on Lambda "
        f"with 'GLIBC_{worst.glibc_str} not found'. Fix: {runtime_fix}pin an older {owner} "
        f"release built for glibc <= {target.runtime.glibc_str}, or use --package image"
    )
