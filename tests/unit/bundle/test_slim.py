from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from lambdalite.bundle import slim
from lambdalite.errors import BuildError

TREE = {
    "numpy/__init__.py": "x = 1\n",
    "numpy/__init__.pyi": "x: int\n",
    "numpy/py.typed": "",
    "numpy/_core/tests/test_a.py": "",
    "numpy/_core/_rational_tests.cpython-311-x86_64-linux-gnu.so": "",
    "numpy/_core/include/numpy/ndarray.h": "",
    "numpy/f2py/__init__.py": "",
    "numpy.libs/libscipy_openblas.so": "",
    "pillow.libs/libjpeg.so": "",
    "PIL/Image.py": "",
    "PIL/__pycache__/Image.cpython-312.pyc": "",
    "numpy-2.2.6.dist-info/METADATA": "Name: numpy\n",
    "numpy-2.2.6.dist-info/RECORD": "",
    "numpy-2.2.6.dist-info/LICENSE.txt": "",
    "tqdm/__init__.py": "",
    "tqdm-4.70.1.dist-info/METADATA": "",
    "google/protobuf/__init__.py": "",
    "ai_edge_litert/interpreter.py": "",
    "ai_edge_litert/tools/x.py": "",
    "ai_edge_litert/descriptor_pb2.py": "",
    "bin/f2py": "",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel, text in TREE.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _left(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_litert_rules_remove_what_the_function_never_loads(tree: Path):
    report = slim.apply(tree, slim.rules_for("litert"))
    assert _left(tree) == {
        "numpy/__init__.py", "numpy.libs/libscipy_openblas.so", "pillow.libs/libjpeg.so",
        "PIL/Image.py", "numpy-2.2.6.dist-info/METADATA", "numpy-2.2.6.dist-info/LICENSE.txt",
        "ai_edge_litert/interpreter.py",
    }
    assert not (tree / "google").exists() and not (tree / "bin").exists()  # emptied dirs go
    assert report.removed["tests"][0] == 2 and report.removed["unused-deps"][0] == 3
    assert report.bytes_removed == sum(len(t) for r, t in TREE.items() if not (tree / r).exists())


def test_what_the_user_asked_for_is_spared_by_the_unused_deps_rule(tree: Path):
    keep = frozenset({"tqdm", "tqdm-4.70.1.dist-info"})
    report = slim.apply(tree, slim.rules_for("litert"), keep=keep)
    assert {"tqdm/__init__.py", "tqdm-4.70.1.dist-info/METADATA"} <= _left(tree)
    assert not (tree / "google").exists() and report.removed["unused-deps"][0] == 1
    assert report.spared == ("tqdm", "tqdm-4.70.1.dist-info")
    assert not (tree / "ai_edge_litert/tools").exists()  # other rules are not affected
    assert not (tree / "numpy/_core/tests").exists()


def test_tf_rules_keep_dependencies(tree: Path):
    assert {r.name for r in slim.rules_for("tf")}.isdisjoint({"unused-deps", "litert-extras"})
    slim.apply(tree, slim.rules_for("tf"))
    assert {"tqdm/__init__.py", "google/protobuf/__init__.py"} <= _left(tree)


def test_a_rule_that_touches_bundled_libs_is_refused(tree: Path):
    bad = slim.Rule("bad", ("numpy.libs/*.so",), "oops")
    with pytest.raises(BuildError, match="bundled library"):
        slim.apply(tree, [bad])
    assert (tree / "numpy.libs/libscipy_openblas.so").exists()


def test_matches_returns_outermost_paths_only(tree: Path):
    rule = slim.Rule("r", ("ai_edge_litert/tools", "ai_edge_litert/tools/*.py"), "")
    assert slim.matches(tree, rule) == [tree / "ai_edge_litert/tools"]


def test_find_interpreter_prefers_host_then_pyenv(tmp_path: Path):
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert slim.find_interpreter(host, tmp_path) == sys.executable
    assert slim.find_interpreter("3.99", tmp_path) is None
    exe = tmp_path / "3.99.1" / "bin" / "python3.99"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert slim.find_interpreter("3.99", tmp_path) == str(exe)


def test_compile_for_target_writes_unchecked_hash_pyc(tmp_path: Path):
    (tmp_path / "mod.py").write_text("VALUE = 42\n")
    assert slim.compile_for_target(tmp_path, "3.99", None) is not None  # skipped, with a note
    assert slim.compile_for_target(tmp_path, "3.11", sys.executable) is None
    pyc = tmp_path / "__pycache__" / f"mod.{sys.implementation.cache_tag}.pyc"
    header = pyc.read_bytes()[:16]
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source not checked


def test_an_orphans_rule_takes_only_the_bundled_libraries_nothing_left_links(tmp_path: Path):
    """Pillow's real wheel files (this environment's): dropping _avif and _imagingft orphans
    libavif and the font stack (freetype -> harfbuzz, brotli, png16), never what _imaging or
    _webp still link, directly or through another library (webp -> sharpyuv)."""
    import shutil

    import PIL

    pil = Path(PIL.__file__).parent
    libs = pil.parent / "pillow.libs"
    if not libs.is_dir():
        pytest.skip("Pillow here is not a manylinux wheel (no pillow.libs)")
    root = tmp_path / "task"
    shutil.copytree(libs, root / "pillow.libs")
    (root / "PIL").mkdir()
    for name in ("_imaging", "_imagingcms", "_webp", "_avif", "_imagingft"):
        (so,) = pil.glob(f"{name}.*.so")
        shutil.copy(so, root / "PIL" / so.name)
    rule = slim.Rule("pillow", ("PIL/_avif.*.so", "PIL/_imagingft.*.so"), "test",
                     orphans=("pillow.libs",))
    report = slim.apply(root, [rule])
    left = {p.name.split("-")[0] for p in (root / "pillow.libs").iterdir()}
    assert not {"libavif", "libfreetype", "libharfbuzz", "libbrotlidec", "libbrotlicommon",
                "libpng16"} & left
    assert {"libjpeg", "libtiff", "libzstd", "liblzma", "libopenjp2", "libxcb", "libXau",
            "liblcms2", "libwebp", "libwebpmux", "libwebpdemux", "libsharpyuv"} <= left
    assert report.removed["pillow"][0] == 2 + 6     # the two modules and six libraries
