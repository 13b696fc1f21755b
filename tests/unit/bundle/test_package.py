from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

from lambdalite.bundle import package


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "b.py").write_text("b = 2\n")
    (root / "pkg" / "a.py").write_text("a = 1\n")
    tool = root / "bin-tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o700)
    (root / "lib.so").write_bytes(b"\0" * 100)
    return root


def test_zip_is_deterministic_sorted_and_has_fixed_modes(tmp_path: Path):
    root = _tree(tmp_path / "t")
    first = tmp_path / "1.zip"
    package.write_zip(root, first)
    os.utime(root / "pkg" / "a.py", (1e9, 1e9))  # a different mtime must not change the zip
    (root / "pkg" / "b.py").chmod(0o600)
    second = tmp_path / "2.zip"
    size = package.write_zip(root, second)
    assert first.read_bytes() == second.read_bytes() and size == second.stat().st_size
    with zipfile.ZipFile(second) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) == ["bin-tool", "lib.so", "pkg/a.py", "pkg/b.py"]
    modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in infos}
    assert modes == {"bin-tool": 0o755, "lib.so": 0o644, "pkg/a.py": 0o644, "pkg/b.py": 0o644}
    assert {i.date_time for i in infos} == {package.ZIP_EPOCH}


def test_function_sources_are_what_the_function_imports():
    from lambdalite.function import SHARED_MODULES

    rels = {rel for _, rel in package.function_sources()}
    assert {"lambdalite/__init__.py", "lambdalite/errors.py", "lambdalite/manifest.py",
            "lambdalite/envvars.py", "lambdalite/lambda_quotas.py",
            "lambdalite/function/handler.py", "lambdalite/function/backends/litert.py"} <= rels
    assert len(SHARED_MODULES) + len([r for r in rels if r.startswith("lambdalite/function/")]) \
        == len(rels)
    assert not any(r.startswith(("lambdalite/bundle", "lambdalite/local", "lambdalite/cli"))
                   for r in rels)
