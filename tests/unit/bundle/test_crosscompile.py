"""Compiling an sdist for the target, without compiling: the toolchain's environment, how pip is
pointed at compiled wheels, and the error a failed build becomes (from real build output)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdalite.bundle import crosscompile, install
from lambdalite.bundle.crosscompile import Compiled, Toolchain, compile_error
from lambdalite.bundle.errors import CompileFailed
from lambdalite.bundle.targets import Target

ARM = Target.of("python3.13", "arm64")
X86_AL2 = Target.of("python3.11", "x86_64")

# What `pip wheel` printed for cffi 2.1.1 forced to build from source with zig for aarch64
# (docs/BUILD.md, "An uncompilable package"), shortened.
CFFI_OUTPUT = """\
Collecting cffi==2.1.1
  Using cached cffi-2.1.1.tar.gz (523 kB)
Building wheels for collected packages: cffi
  Building wheel for cffi (pyproject.toml): started
  running build_ext
  building '_cffi_backend' extension
      src/c/_cffi_backend.c:15:10: fatal error: 'ffi.h' file not found
         15 | #include <ffi.h>
            |          ^~~~~~~
      1 error generated.
  ERROR: Failed building wheel for cffi
"""


def toolchain(target: Target = ARM, include: Path | None = Path("/h/usr/include")) -> Toolchain:
    return Toolchain(target, "/py/bin/python3.13", "/venv/ziglang/zig", include,
                     "Debian libpython3.13-dev 3.13.5-2")


def test_the_toolchain_targets_the_runtimes_glibc_and_machine(tmp_path: Path):
    env = toolchain().environ(tmp_path / "bin", {"PATH": "/usr/bin"})
    cc = Path(env["CC"]).read_text()
    assert "/venv/ziglang/zig cc -target aarch64-linux-gnu.2.34 -fno-sanitize=undefined" in cc
    assert env["LDSHARED"] == f"{env['CC']} -shared -s"
    assert "c++ -target aarch64-linux-gnu.2.34" in Path(env["CXX"]).read_text()
    # zig cc without -O builds Debug with UBSan: -O2 always, and the target's headers first
    # (Debian's pyconfig.h includes the multiarch one, hence the include folder itself too).
    assert env["CFLAGS"].split() == ["-O2", "-DNDEBUG", "-fwrapv",
                                     "-I/h/usr/include/python3.13", "-I/h/usr/include"]
    assert env["_PYTHON_HOST_PLATFORM"] == "linux-aarch64"
    assert env["SETUPTOOLS_EXT_SUFFIX"] == ".cpython-313-aarch64-linux-gnu.so"
    assert env["PATH"] == "/usr/bin"
    assert toolchain(X86_AL2, None).compiler == "zig cc -target x86_64-linux-gnu.2.26"


def test_pip_is_pointed_at_compiled_wheels_with_their_plain_linux_tag(tmp_path: Path):
    cmd = install.pip_command(tmp_path, ["bchlib"], ARM, find_links=[Path("/c")])
    assert cmd[cmd.index("--find-links") + 1] == "/c"
    platforms = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--platform"]
    assert platforms[-1] == "linux_aarch64" and "manylinux_2_34_aarch64" in platforms
    assert "linux_aarch64" not in install.pip_command(tmp_path, ["bchlib"], ARM)


def test_only_a_compiled_wheel_may_carry_the_plain_linux_tag():
    tag = "cp313-cp313-linux_aarch64"
    assert not ARM.accepts_wheel_tag(tag)
    assert ARM.accepts_wheel_tag(tag, compiled=True)
    assert not ARM.accepts_wheel_tag("cp313-cp313-linux_x86_64", compiled=True)


def test_a_missing_header_names_the_package_the_library_and_the_fix(tmp_path: Path):
    err = compile_error("cffi==2.1.1", ARM, toolchain(), CFFI_OUTPUT, tmp_path / "cffi.log")
    msg = err.message
    assert isinstance(err, CompileFailed) and err.exit_code == 5
    assert msg.startswith("cannot compile cffi 2.1.1 for python3.13 arm64 (Amazon Linux 2023, "
                          "glibc 2.34): it has no wheel for that target")
    assert "src/c/_cffi_backend.c:15 includes <ffi.h>" in msg
    assert "(zig cc -target aarch64-linux-gnu.2.34) does not have" in msg
    assert "libffi's development headers and library for aarch64" in msg
    assert "Fix: pin a release that has a wheel for python3.13 arm64 " in msg
    assert "--extra-requirement 'cffi==<version>'" in msg and f"{tmp_path}/cffi.log" in msg


@pytest.mark.parametrize(("output", "says"), [
    ("error: command 'gfortran' failed: No such file or directory\n",
     "its build runs `gfortran`, which is not installed here. Fix: install gfortran"),
    ("  ../meson.build:1:0: ERROR: Unknown compiler(s)\n",
     "it builds with meson (meson-python), which lambdalite does not cross-compile"),
    ("ld.lld: error: unable to find library -lssl\n", "it links -lssl, which the cross compiler"),
    ("error: something else broke\n", "its build failed: error: something else broke"),
])
def test_other_failures_say_what_stood_in_the_way(tmp_path: Path, output: str, says: str):
    msg = compile_error("pkg", X86_AL2, toolchain(X86_AL2, None), output, tmp_path / "l").message
    assert msg.startswith("cannot compile pkg for python3.11 x86_64 (Amazon Linux 2, glibc "
                          "2.26)")
    assert says in msg


def test_the_build_table_line_says_compiled_from_source_for_the_arch(tmp_path: Path):
    c = Compiled("bchlib", "2.1.3", tmp_path / "b.whl", "arm64",
                 "zig cc -target aarch64-linux-gnu.2.34", "Debian libpython3.13-dev 3.13.5-2",
                 "2.17")
    assert c.note() == ("bchlib 2.1.3: compiled from source for arm64 (no wheel for the "
                        "target; zig cc -target aarch64-linux-gnu.2.34, Python headers: Debian "
                        "libpython3.13-dev 3.13.5-2; needs GLIBC_2.17)")
    assert c.pin == "bchlib==2.1.3"


def test_compiled_wheels_are_cached_per_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(install.CACHE_ENV, str(tmp_path))
    arm = crosscompile._entry("bchlib", ARM)
    assert arm.parent == tmp_path / "compiled" / "cp313-aarch64-linux-gnu.2.34"
    assert crosscompile._entry("bchlib", Target.of("python3.13", "x86_64")).parent.name == (
        "cp313-x86_64-linux-gnu.2.34")
    assert crosscompile._entry("bchlib==2.1.3", ARM) != arm
    assert crosscompile._cached(arm, "bchlib") is None   # nothing kept yet
