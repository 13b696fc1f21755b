"""The SAM layer sits under build and local (static check of every module's imports): it imports
no component, and build and local read templates only through it, never through each other."""

from __future__ import annotations

import ast
from pathlib import Path

import lambdalite

PACKAGE = Path(lambdalite.__file__).parent
SAM_MAY_IMPORT = ("lambdalite.sam", "lambdalite.errors", "lambdalite.lambda_facts",
                  "lambdalite.envvars")


def lambdalite_imports(folder: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            found += [(path.relative_to(PACKAGE).as_posix(), n) for n in names
                      if n.startswith("lambdalite")]
    return found


def test_sam_imports_no_component():
    imports = lambdalite_imports("sam")
    assert len({module for module, _ in imports}) >= 7
    assert [(m, n) for m, n in imports if not n.startswith(SAM_MAY_IMPORT)] == []


def test_build_and_local_do_not_import_each_other():
    assert [(m, n) for m, n in lambdalite_imports("bundle") if n.startswith("lambdalite.local")] \
        == []
    assert [(m, n) for m, n in lambdalite_imports("local") if n.startswith("lambdalite.bundle")] \
        == []
    # ... and both read templates through the SAM layer.
    assert ("bundle/jobs.py", "lambdalite.sam.parse") in lambdalite_imports("bundle")
    assert ("local/specs.py", "lambdalite.sam.parse") in lambdalite_imports("local")
