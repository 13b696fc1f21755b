"""python3.14 (Lambda GA 2025-11, Amazon Linux 2023): pip picks cp314 wheels for the target
without a local 3.14 (``--python-version``), the glibc and libstdc++ checks pass against
AL2023's, and without a python3.14 here the .pyc step is skipped with its note."""

from __future__ import annotations

import pytest

from lambdalite.bundle import elfcheck
from lambdalite.bundle.api import BuildResult
from lambdalite.bundle.slim import find_interpreter

from .conftest import _build


@pytest.fixture(scope="module")
def zip_314_x86(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return _build(tmp_path_factory, "python3.14", "x86_64")


def test_python314_gets_cp314_wheels_within_amazon_linux_2023(zip_314_x86: BuildResult) -> None:
    r = zip_314_x86
    extensions = [p.name for p in r.task_root.rglob("*.so") if "cpython-" in p.name]
    assert extensions and all("cpython-314-x86_64" in name for name in extensions)
    assert r.glibc_available == "2.34" and r.glibc_needed is not None
    assert tuple(map(int, r.glibc_needed.split("."))) <= (2, 34)
    cxx = elfcheck.highest_libstdcxx(list(elfcheck.scan(r.task_root)))
    assert cxx is not None and cxx.glibcxx is not None and cxx.glibcxx <= (3, 4, 29)
    assert r.libstdcxx_available == "GLIBCXX_3.4.29 (GCC 11.2)"


def test_python314_pyc_are_compiled_only_where_a_314_exists(zip_314_x86: BuildResult) -> None:
    compiled = list(zip_314_x86.task_root.rglob("*.cpython-314.pyc"))
    if find_interpreter("3.14") is None:
        assert not compiled
        assert any("no python3.14 on this machine: .pyc not precompiled" in n
                   for n in zip_314_x86.notes), zip_314_x86.notes
    else:
        assert compiled
