"""Imports go one way: every module's imports, read statically, against the table of
docs/ARCHITECTURE.md ("Which package may import which")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lambdalite

PACKAGE = Path(lambdalite.__file__).parent
SHARED = ("errors", "lambda_facts", "lambda_quotas", "envvars", "manifest", "progress", "records")
# A unit is a top-level module or subpackage of lambdalite; "bundle.api" names one module of
# a package (and what is under it).
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    **{module: SHARED for module in SHARED},
    "sam": ("errors", "lambda_facts", "envvars"),
    "function": ("errors", "manifest", "envvars", "lambda_quotas", "records"),
    "conversion": (*SHARED, "function"),
    "emulation": SHARED,
    "bundle": (*SHARED, "sam", "function", "emulation"),
    "local": (*SHARED, "sam", "emulation"),
    "examples": (*SHARED, "function", "conversion"),
    # The other components through their APIs only.
    "benchmark": (*SHARED, "sam", "examples", "emulation", "bundle.api", "bundle.builds", "bundle.options",
                  "local.engine", "local.engine_types", "local.limits", "conversion.pipeline",
                  "conversion.plan"),
    # Files in, answers out: a model folder's build (bundle's API) run in the local Lambda.
    "prediction": (*SHARED, "examples", "bundle.builds", "bundle.options", "bundle.package",
                "local.engine", "local.engine_types", "local.specs", "local.triggers"),
}
CLI_MODULES = ("cli", "cli_progress", "__main__")     # and every <package>/cli.py, __main__.py


def modules() -> dict[str, Path]:
    """Every module of lambdalite by dotted name (without the ``lambdalite.`` prefix)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = modules()


def imported(path: Path) -> list[str]:
    """The lambdalite modules ``path`` imports (dotted, without the prefix), at any depth:
    ``from lambdalite.bundle import api`` is ``bundle.api``; ``from lambdalite import
    __version__`` is the package itself, ``""``."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names += [f"{node.module}.{a.name}" if f"{node.module}.{a.name}"[11:] in MODULES
                      else node.module for a in node.names]
    return [n[len("lambdalite."):] if n != "lambdalite" else ""
            for n in names if n == "lambdalite" or n.startswith("lambdalite.")]


def unit(module: str) -> str:
    return module.split(".")[0]


def is_cli(module: str) -> bool:
    return module in CLI_MODULES or module.endswith((".cli", ".__main__"))


def allowed(source: str, target: str) -> bool:
    if target == "" or unit(target) == unit(source):
        return True              # the package itself (standard library only: test_api)
    rules = MAY_IMPORT[unit(source)]
    return any(target == rule or target.startswith(rule + ".") for rule in rules)


def edges() -> list[tuple[str, str]]:
    return [(module, target) for module, path in MODULES.items() for target in imported(path)]


def test_every_module_is_in_the_table():
    units = {unit(m) for m in MODULES if not is_cli(m) and m != "__init__"}
    assert units == set(MAY_IMPORT), units ^ set(MAY_IMPORT)


def test_imports_follow_the_table():
    checked = [(m, t) for m, t in edges() if not is_cli(m) and m != "__init__"]
    assert len({m for m, _ in checked}) >= 70 and len(checked) >= 150   # the scan saw the code
    assert [(m, t) for m, t in checked if not allowed(m, t)] == []


def test_nothing_imports_the_cli_or_the_benchmark():
    """The CLI is the outermost layer; nothing but the API facade (``__init__``, lazily)
    imports the benchmark, which measures the others."""
    assert [(m, t) for m, t in edges() if is_cli(t) and not is_cli(m)] == []
    assert [(m, t) for m, t in edges()
            if unit(t) == "benchmark" and unit(m) not in ("benchmark", "__init__")] == []


def test_build_and_local_read_templates_only_through_the_sam_layer():
    assert ("bundle.jobs", "sam.parse") in edges()
    assert ("local.specs", "sam.parse") in edges()
    between = [(m, t) for m, t in edges() if {unit(m), unit(t)} == {"bundle", "local"}]
    assert between == []


@pytest.mark.parametrize(("source", "target", "ok"), [
    ("sam.parse", "errors", True),
    ("sam.parse", "bundle.api", False),
    ("function.app", "progress", False),
    ("local.specs", "bundle.jobs", False),
    ("benchmark.runner", "bundle.api", True),
    ("benchmark.runner", "bundle.install", False),
    ("benchmark.runner", "", True),
])
def test_the_rule_tells_a_violation(source: str, target: str, ok: bool):
    assert allowed(source, target) is ok
