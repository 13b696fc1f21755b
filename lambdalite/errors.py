"""The one exception hierarchy of lambdalite.

Every component has a small ``errors.py`` whose classes derive from these.
Each error carries what the outside world needs from it:

    LambdaliteError              exit_code=1, status=500, error_type=class name
    ├── UsageError               bad flags or arguments (exit 2)
    │   └── OptionError          a bad option of the Python API, named by its field
    ├── ClientError              the caller sent something wrong (HTTP 4xx)
    │   └── (function.errors: BadRequest 400, PayloadTooLarge 413, UnsupportedMediaType 415)
    ├── ModelError               a model file or manifest is missing, corrupt or unusable
    ├── ConversionError          (convert.errors) TF -> TFLite failed
    ├── BuildError               (build.errors) packaging or a pre-ship check failed
    ├── LocalRuntimeError        (local.errors) the local Lambda environment failed
    └── DependencyError          an external tool (npm, pip, sam) is missing or failed

Stdlib only: this module ships inside the Lambda package.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

# A pattern string, not a compiled pattern: the function imports this module at every INIT and
# never raises an OptionError, so the compile (~0.5 M instructions) waits for the first use
# (``re`` caches it). ``copy`` (~2 M) is imported where it is needed for the same reason.
_FIELD = r"\{([a-z_][a-z0-9_]*)\}"


class LambdaliteError(Exception):
    """Base of every error lambdalite raises on purpose.

    ``message`` says what went wrong *and what to do next*.
    """

    exit_code: int = 1
    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def error_type(self) -> str:
        """The name Lambda reports as ``errorType``."""
        return type(self).__name__

    def to_dict(self) -> dict[str, str]:
        return {"type": self.error_type, "message": self.message}


class UsageError(LambdaliteError):
    exit_code = 2
    status = 400


class OptionError(UsageError):
    """A bad option value, raised by the Python API, whose message names the options by
    their API field (``int8_io``). ``template`` writes each one as ``{field}`` (other text,
    braces included, is kept as is); a front end that calls them otherwise shows
    ``renamed({"int8_io": "--int8-io"})`` (the CLI does)."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.options = tuple(dict.fromkeys(re.findall(_FIELD, template)))
        super().__init__(self._render({}))

    def _render(self, names: Mapping[str, str]) -> str:
        return re.sub(_FIELD, lambda m: names.get(m[1], m[1]), self.template)

    def renamed(self, names: Mapping[str, str]) -> OptionError:
        import copy

        err = copy.copy(self)
        err.message = self._render(names)
        err.args = (err.message,)
        return err


class ClientError(LambdaliteError):
    status = 400


class ModelError(LambdaliteError):
    exit_code = 3


class ConversionError(LambdaliteError):
    exit_code = 4


class BuildError(LambdaliteError):
    exit_code = 5


class LocalRuntimeError(LambdaliteError):
    exit_code = 6


class DependencyError(LambdaliteError):
    exit_code = 7
