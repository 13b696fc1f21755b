"""lambdalite.function imports only what the Lambda package ships (static check of every module)."""

import ast
from pathlib import Path

import lambdalite.function
from lambdalite.function import (
    ONNX_PACKAGES,
    RUNTIME_PACKAGES,
    RUNTIME_PROVIDED,
    SHARED_MODULES,
    TF_PACKAGES,
)

ALLOWED_ROOTS = {*RUNTIME_PACKAGES, *RUNTIME_PROVIDED, "__future__"}
ALLOWED_LAMBDALITE = set(SHARED_MODULES)
PACKAGE = Path(lambdalite.function.__file__).parent


def imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def allowed(name: str, path: Path) -> bool:
    root = name.split(".")[0]
    if name in ALLOWED_LAMBDALITE or name.startswith("lambdalite.function"):
        return True
    if root == "lambdalite":
        return False
    if root in TF_PACKAGES:
        return path.name == "tf.py"
    if root in ONNX_PACKAGES:
        return path.name == "onnxruntime.py"
    import sys

    return root in ALLOWED_ROOTS or root in sys.stdlib_module_names


def test_every_module_imports_only_allowed_packages():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 8
    bad = [
        (f.relative_to(PACKAGE).as_posix(), n)
        for f in files
        for n in imports(f)
        if not allowed(n, f)
    ]
    assert bad == []
