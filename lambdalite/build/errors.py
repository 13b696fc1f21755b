"""Errors of the build component (all are ``BuildError``, exit code 5).

    BuildError (lambdalite.errors)
    ├── InstallFailed       pip could not install the runtime requirements for the target
    ├── ArchMismatch        an ELF file is built for another machine than the target
    ├── GlibcTooNew         an ELF file needs a newer glibc than the runtime has
    ├── LibstdcxxTooNew     an ELF file needs a newer system libstdc++ than the runtime has
    └── PackageTooLarge     over Lambda's size quota for the package type
    ProjectError (UsageError, exit 2)  the SAM template given to `build --template` is unusable
"""

from __future__ import annotations

from lambdalite.errors import BuildError, UsageError


class InstallFailed(BuildError):
    pass


class ArchMismatch(BuildError):
    pass


class GlibcTooNew(BuildError):
    pass


class LibstdcxxTooNew(BuildError):
    pass


class PackageTooLarge(BuildError):
    pass


class ProjectError(UsageError):
    pass


__all__ = ["ArchMismatch", "BuildError", "GlibcTooNew", "InstallFailed", "LibstdcxxTooNew",
           "PackageTooLarge", "ProjectError"]
