"""cfn-lint over a written template, when cfn-lint is installed.

cfn-lint is in the ``dev`` extra, not in lambdalite's own dependencies: it pulls sympy and
networkx into every install, for a check of what lambdalite writes itself (tested on every
option set) and what AWS also checks at deploy time.

    findings, note = review(path)    # note: why it was not linted (None when it was)
"""

from __future__ import annotations

from pathlib import Path

from lambdalite.errors import DependencyError

NOT_INSTALLED = ("cfn-lint is not installed, so the template was not linted "
                 "(pip install cfn-lint, or lambdalite[dev])")


def lint(path: Path) -> list[str]:
    """cfn-lint's findings for a template (empty: clean); DependencyError without cfn-lint."""
    findings = _run(path)
    if findings is None:
        raise DependencyError(NOT_INSTALLED)
    return findings


def review(path: Path) -> tuple[list[str], str | None]:
    """``(findings, None)``, or ``([], NOT_INSTALLED)`` where cfn-lint is missing."""
    findings = _run(path)
    return ([], NOT_INSTALLED) if findings is None else (findings, None)


def _run(path: Path) -> list[str] | None:
    try:
        from cfnlint.api import ManualArgs, lint_file  # deferred: loads its specs (~1 s)
    except ImportError:
        return None
    return [str(m) for m in lint_file(path, config=ManualArgs(regions=["us-east-1"]))]


__all__ = ["NOT_INSTALLED", "lint", "review"]
