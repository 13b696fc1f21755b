"""ELF checks on a crafted header-only ELF and on real shared objects from this venv."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy
import pytest

from lambdalite.build import elfcheck
from lambdalite.build.errors import ArchMismatch, GlibcTooNew
from lambdalite.build.targets import Target

EM_X86_64, EM_AARCH64 = 62, 183


def tiny_elf(machine: int) -> bytes:
    """A 64-byte ELF64 little-endian header with no sections: enough for e_machine."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    return ident + struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, 0, 0, 0, 0, 64, 0, 0, 0, 0, 0)


def real_extension() -> Path:
    core = Path(numpy.__file__).parent / "_core"
    return sorted(core.glob("_multiarray_umath*.so"))[0]


@pytest.fixture
def numpy_tree(tmp_path: Path) -> Path:
    """A task-root-like tree holding this venv's real numpy extension module."""
    pkg = tmp_path / "numpy" / "_core"
    pkg.mkdir(parents=True)
    shutil.copy(real_extension(), pkg)
    return tmp_path


def test_machine_of_crafted_elf_files(tmp_path: Path):
    (tmp_path / "a.so").write_bytes(tiny_elf(EM_AARCH64))
    (tmp_path / "b.so").write_bytes(tiny_elf(EM_X86_64))
    (tmp_path / "readme.txt").write_text("not an ELF")
    infos = list(elfcheck.scan(tmp_path))
    assert [(i.path, i.machine, i.glibc) for i in infos] == [
        ("a.so", "EM_AARCH64", None), ("b.so", "EM_X86_64", None)]
    elfcheck.check_arch(infos[:1], Target.of("python3.12", "arm64"))
    with pytest.raises(ArchMismatch, match=r"1 ELF file\(s\) are not AArch64, e.g. b.so is x86-64"):
        elfcheck.check_arch(infos, Target.of("python3.12", "arm64"))


def test_truncated_elf_is_reported(tmp_path: Path):
    (tmp_path / "broken.so").write_bytes(b"\x7fELF\x02\x01")
    with pytest.raises(ArchMismatch, match="not a readable ELF"):
        list(elfcheck.scan(tmp_path))


def test_glibc_needed_is_read_from_gnu_version_r(numpy_tree: Path):
    infos = list(elfcheck.scan(numpy_tree))
    worst = elfcheck.highest_glibc(infos)
    assert worst is not None and worst.path.startswith("numpy/_core/_multiarray_umath")
    assert worst.glibc is not None and worst.glibc >= (2, 17)


def test_glibc_check_message_names_file_versions_and_fix(numpy_tree: Path):
    infos = list(elfcheck.scan(numpy_tree))
    needed = elfcheck.highest_glibc(infos)
    assert needed is not None and needed.glibc is not None
    runtime = "python3.11" if needed.glibc > (2, 26) else None
    if runtime is None:
        pytest.skip(f"this venv's numpy needs only glibc {needed.glibc_str}; nothing to fail on")
    with pytest.raises(GlibcTooNew) as err:
        elfcheck.check_glibc(infos, Target.of(runtime, "x86_64"), {"numpy": "numpy"})
    msg = err.value.message
    assert f"needs GLIBC_{needed.glibc_str}" in msg and "glibc 2.26" in msg
    assert "numpy/_core/_multiarray_umath" in msg
    assert "--runtime python3.12" in msg and "older numpy release" in msg
    elfcheck.check_glibc(infos, Target.of("python3.12", "x86_64"), {})
