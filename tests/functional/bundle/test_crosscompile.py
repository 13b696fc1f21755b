"""Compiling an sdist for the target, for real: bchlib for python3.13 x86_64 (it has no cp313
wheel at all) imports and corrects bits on the host's CPython 3.13; a second build takes it from
the cache; and a package whose C library is missing fails with what to do. (arm64, run under
emulation: tests/functional/emulation.)"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from lambdalite.bundle.crosscompile import compile_wheel
from lambdalite.bundle.errors import CompileFailed
from lambdalite.bundle.slim import find_interpreter
from lambdalite.bundle.targets import Target

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ziglang") is None,
                                reason="ziglang (lambdalite[compile]) is not installed")

X86_313 = Target.of("python3.13", "x86_64")
CORRECTS = """
import bchlib, json, sys
bch = bchlib.BCH(5, prim_poly=137)
data = bytearray(b"Stega!!"); ecc = bch.encode(data)
bad = bytearray(data); bad[0] ^= 0b101; bad[3] ^= 0b1000
found = bch.decode(bad, bytearray(ecc)); bch.correct(bad, bytearray(ecc))
print(json.dumps({"file": bchlib.__file__, "found": found, "fixed": bytes(bad) == bytes(data)}))
"""


def test_bchlib_compiled_for_python313_x86_64_corrects_bits(tmp_path: Path):
    python = find_interpreter("3.13")
    if python is None:
        pytest.skip("no CPython 3.13 here to drive the compile (pyenv install 3.13)")
    compiled = compile_wheel("bchlib==2.1.3", X86_313)
    assert compiled.wheel.name == "bchlib-2.1.3-cp313-cp313-linux_x86_64.whl"
    assert compiled.compiler == "zig cc -target x86_64-linux-gnu.2.34"
    assert compiled.glibc_needed is not None and compiled.glibc_needed <= "2.34"
    with zipfile.ZipFile(compiled.wheel) as zf:
        zf.extractall(tmp_path)
    done = subprocess.run([python, "-I", "-S", "-c", f"import sys; sys.path[:0] = "
                           f"[{str(tmp_path)!r}]\n" + CORRECTS],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen == {"file": seen["file"], "found": 3, "fixed": True}
    assert seen["file"].startswith(str(tmp_path))
    # Cached per target: the same wheel again, without a build.
    assert compile_wheel("bchlib==2.1.3", X86_313).wheel == compiled.wheel


def test_a_package_whose_c_library_is_missing_says_what_to_do():
    """python-ldap publishes no wheels; its C extension includes OpenLDAP's <lber.h>."""
    if find_interpreter("3.13") is None:
        pytest.skip("no CPython 3.13 here to drive the compile (pyenv install 3.13)")
    with pytest.raises(CompileFailed) as err:
        compile_wheel("python-ldap==3.4.8", Target.of("python3.13", "arm64"))
    msg = err.value.message
    assert msg.startswith("cannot compile python-ldap 3.4.8 for python3.13 arm64 (Amazon Linux "
                          "2023, glibc 2.34): it has no wheel for that target, and compiling "
                          "its sdist failed: Modules/")
    assert "includes <lber.h>, which the cross compiler (zig cc -target aarch64-linux-gnu.2.34)" \
        " does not have" in msg
    assert "OpenLDAP's development headers and library for aarch64" in msg
    assert "Fix: pin a release that has a wheel for python3.13 arm64" in msg
    log = Path(msg.rsplit("Full log: ", 1)[1])
    assert "fatal error: 'lber.h' file not found" in log.read_text()
