"""Errors of the build component (all are ``BuildError``, exit code 5).

    BuildError (lambdalite.errors)
    ├── InstallFailed       pip could not install the runtime requirements for the target
    │   └── NoWheel             no release of a requirement has a wheel for the target
    ├── CompileFailed       a requirement without a wheel could not be compiled for the target
    ├── ArchMismatch        an ELF file is built for another machine than the target
    └── CheckFailed         a pre-ship check failed (``package``: the distribution to blame)
        ├── GlibcTooNew         an ELF file needs a newer glibc than the runtime has
        ├── LibstdcxxTooNew     an ELF file needs a newer system libstdc++ than the runtime has
        └── PackageTooLarge     over Lambda's size quota for the package type
    When no release of an unpinned package fits (versions.py), the error of the same class
    lists every release tried and why it was rejected.
    (An unusable SAM template is a lambdalite.sam.errors.TemplateError: a UsageError, exit 2.)
"""

from __future__ import annotations

from lambdalite.errors import BuildError


class InstallFailed(BuildError):
    pass


class NoWheel(InstallFailed):
    """pip found no wheel for the target: ``requirement`` as pip named it (crosscompile.py
    compiles its sdist instead)."""

    def __init__(self, message: str, *, requirement: str) -> None:
        super().__init__(message)
        self.requirement = requirement


class CompileFailed(BuildError):
    pass


class ArchMismatch(BuildError):
    pass


class CheckFailed(BuildError):
    """A pre-ship check failed; ``package`` (a distribution name) caused it, when one did.

    ``reason`` is the one-line why ("needs GLIBC_2.30, python3.11 arm64 (Amazon Linux 2) has
    2.26"), ``fix`` the short what to do; ``version`` is filled in by whoever knows it.
    """

    def __init__(self, message: str, *, package: str | None = None, reason: str = "",
                 fix: str = "") -> None:
        super().__init__(message)
        self.package = package
        self.version: str | None = None
        self.reason = reason or message
        self.fix = fix


class GlibcTooNew(CheckFailed):
    pass


class LibstdcxxTooNew(CheckFailed):
    pass


class PackageTooLarge(CheckFailed):
    pass


__all__ = ["ArchMismatch", "BuildError", "CheckFailed", "CompileFailed", "GlibcTooNew",
           "InstallFailed", "LibstdcxxTooNew", "NoWheel", "PackageTooLarge"]
