"""ELF checks on a crafted header-only ELF and on real shared objects from this venv."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy
import pytest

from lambdalite.bundle import elfcheck
from lambdalite.bundle.errors import ArchMismatch, GlibcTooNew, LibstdcxxTooNew
from lambdalite.bundle.targets import Target

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


def elf_with_needs(machine: int, needs: dict[str, list[str]]) -> bytes:
    """An ELF64 file whose only content is a ``.gnu.version_r`` section: ``needs`` maps a
    DT_NEEDED name (``libstdc++.so.6``) to the symbol versions needed from it."""
    dynstr = bytearray(b"\0")

    def string(text: str) -> int:
        dynstr.extend(text.encode() + b"\0")
        return len(dynstr) - len(text) - 1

    verneed = bytearray()
    other = 2
    for i, (file, versions) in enumerate(needs.items()):
        size = 16 + 16 * len(versions)
        last = i == len(needs) - 1
        verneed += struct.pack("<HHIII", 1, len(versions), string(file), 16, 0 if last else size)
        for j, version in enumerate(versions):
            nxt = 0 if j == len(versions) - 1 else 16
            verneed += struct.pack("<IHHII", 0, 0, other, string(version), nxt)
            other += 1
    shstr = b"\0.dynstr\0.gnu.version_r\0.shstrtab\0"
    body = bytes(dynstr) + shstr
    body += bytes(-(64 + len(body)) % 8)
    verneed_off, shoff = 64 + len(body), 64 + len(body) + len(verneed)

    def section(name: int, kind: int, offset: int, size: int, link: int = 0, info: int = 0):
        return struct.pack("<IIQQQQIIQQ", name, kind, 0, 0, offset, size, link, info, 8, 0)

    sections = (bytes(64) + section(1, 3, 64, len(dynstr))
                + section(9, 0x6FFFFFFE, verneed_off, len(verneed), link=1, info=len(needs))
                + section(24, 3, 64 + len(dynstr), len(shstr)))
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, 0, 0, shoff, 0, 64, 0, 0, 64,
                                 4, 3)
    return header + body + bytes(verneed) + sections


def test_libstdcxx_needs_come_from_the_system_libstdcxx_only(tmp_path: Path):
    (tmp_path / "ext.so").write_bytes(elf_with_needs(EM_X86_64, {
        "libc.so.6": ["GLIBC_2.2.5", "GLIBC_2.17"],
        "libstdc++.so.6": ["GLIBCXX_3.4.9", "GLIBCXX_3.4.21", "CXXABI_1.3.9", "CXXABI_TM_1"],
    }))
    # auditwheel renames a bundled libstdc++; needs against it are met by the bundled file.
    (tmp_path / "bundled.so").write_bytes(elf_with_needs(EM_X86_64, {
        "libstdc++-a1b2c3d4.so.6.0.33": ["GLIBCXX_3.4.32", "CXXABI_1.3.15"],
    }))
    infos = {i.path: i for i in elfcheck.scan(tmp_path)}
    ext = infos["ext.so"]
    assert (ext.glibc, ext.glibcxx, ext.cxxabi) == ((2, 17), (3, 4, 21), (1, 3, 9))
    assert ext.glibcxx_str == "GLIBCXX_3.4.21"
    assert (infos["bundled.so"].glibcxx, infos["bundled.so"].cxxabi) == (None, None)
    for runtime in ("python3.11", "python3.12"):
        elfcheck.check_libstdcxx(infos.values(), Target.of(runtime, "x86_64"), {})


@pytest.mark.parametrize(("needs", "runtime", "fix"), [
    (["GLIBCXX_3.4.26"], "python3.11", "--runtime python3.12 (Amazon Linux 2023, libstdc++ of GCC "
                                       "11.2)"),
    (["GLIBCXX_3.4.24", "CXXABI_1.3.12"], "python3.11", "--runtime python3.12"),
    (["GLIBCXX_3.4.30"], "python3.12", None),
])
def test_libstdcxx_too_new_names_file_versions_and_fix(tmp_path: Path, needs, runtime, fix):
    pkg = tmp_path / "fastlib"
    pkg.mkdir()
    (pkg / "_core.so").write_bytes(elf_with_needs(EM_X86_64, {"libstdc++.so.6": needs}))
    infos = list(elfcheck.scan(tmp_path))
    with pytest.raises(LibstdcxxTooNew) as err:
        elfcheck.check_libstdcxx(infos, Target.of(runtime, "x86_64"), {"fastlib": "fast-lib"})
    msg, need = err.value.message, needs[-1]
    assert msg.startswith(f"fastlib/_core.so needs {need} from the system libstdc++.so.6")
    assert f"'{need} not found'" in msg and "older fast-lib release" in msg
    have = ("GCC 7.3 (up to GLIBCXX_3.4.24, CXXABI_1.3.11)" if runtime == "python3.11"
            else "GCC 11.2 (up to GLIBCXX_3.4.29, CXXABI_1.3.13)")
    assert have in msg and err.value.exit_code == 5
    assert (fix in msg) if fix else "--runtime" not in msg


def test_libstdcxx_of_real_shared_objects():
    """This venv's LiteRT links the system libstdc++; its needs parse to real versions."""
    import ai_edge_litert

    infos = list(elfcheck.scan(Path(ai_edge_litert.__file__).parent))
    worst = elfcheck.highest_libstdcxx(infos)
    assert worst is not None and worst.glibcxx is not None
    assert (3, 4, 9) < worst.glibcxx < (3, 5)
    fits = [r for r in ("python3.11", "python3.12")
            if worst.glibcxx <= Target.of(r, "x86_64").runtime.glibcxx]
    for runtime in fits:
        elfcheck.check_libstdcxx(infos, Target.of(runtime, "x86_64"), {})
    for runtime in {"python3.11", "python3.12"} - set(fits):
        with pytest.raises(LibstdcxxTooNew, match=worst.glibcxx_str or ""):
            elfcheck.check_libstdcxx(infos, Target.of(runtime, "x86_64"), {})


@pytest.mark.parametrize(("glibc", "runtime", "runtime_fix"), [
    ("GLIBC_2.29", "python3.11", "use --runtime python3.12 (Amazon Linux 2023, glibc 2.34) or "),
    ("GLIBC_2.38", "python3.12", ""),
])
def test_glibc_fix_is_a_runtime_or_a_pin_never_an_image(tmp_path: Path, glibc, runtime,
                                                          runtime_fix):
    """An image runs on the runtime's own base OS (same glibc): suggesting it would not help."""
    (tmp_path / "fastlib").mkdir()
    (tmp_path / "fastlib" / "_core.so").write_bytes(
        elf_with_needs(EM_X86_64, {"libc.so.6": ["GLIBC_2.17", glibc]}))
    with pytest.raises(GlibcTooNew) as err:
        elfcheck.check_glibc(list(elfcheck.scan(tmp_path)), Target.of(runtime, "x86_64"),
                             {"fastlib": "fast-lib"})
    msg = err.value.message
    assert f"Fix: {runtime_fix}pin an older fast-lib release built for glibc <= " in msg
    assert "--extra-requirement 'fast-lib==<version>'" in msg
    assert "--package image" not in msg and err.value.fix == runtime_fix.removesuffix(" or ")
