"""The one error of the SAM layer: ``TemplateError`` (a UsageError, exit code 2).

Its message starts with where the problem is, as compilers and cfn-lint print it:
``template.yaml:14: Fn: MemorySize must be a whole number from 128 to 10240, not 2.5``.
"""

from __future__ import annotations

from pathlib import Path

from lambdalite.errors import UsageError


class TemplateError(UsageError):
    """A template is missing, unreadable, or holds a value AWS (or lambdalite) cannot use.

    ``path`` and ``line`` (1-based) say where, when known; ``text`` is the message without them.
    """

    def __init__(self, text: str, *, path: Path | str | None = None,
                 line: int | None = None) -> None:
        self.text = text
        self.path = Path(path) if path is not None else None
        self.line = line
        where = "" if path is None else f"{path}:{line}: " if line else f"{path}: "
        super().__init__(where + text)


__all__ = ["TemplateError"]
