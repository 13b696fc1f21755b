"""What the function needs from Python 3.11 that Python 3.9 lacks, in one place.

The function package runs on every Lambda Python lambdalite builds for, down to python3.9:
the runtime of the write-up's tflite-runtime 2.7.0, whose wheels stop at cp39 (bench's peer
rows, docs/BENCHMARKS.md). The CLI needs 3.11; this package is checked at 3.9 by ruff
(``per-file-target-version`` in pyproject.toml) and by a test that serves it under 3.9.
"""

from __future__ import annotations

import binascii
import re
import sys
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import os

    # A file system path as the function takes one: a str, or a pathlib.Path from a caller
    # (the function itself uses os.path: pathlib costs python3.12 22 M instructions at INIT,
    # with the urllib.parse and ipaddress it imports).
    StrPath = str | os.PathLike[str]

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:
    class StrEnum(str, Enum):
        """3.11's ``enum.StrEnum`` as far as the function uses it: members are their values
        (``str(m)``, f-strings, JSON, ``==`` with the plain string)."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return str(self.value).__format__(spec)


def a2b_base64_strict(data: bytes) -> bytes:
    """Base64 to bytes, refusing anything but the alphabet and final padding
    (binascii.Error otherwise)."""
    if sys.version_info >= (3, 11):
        return binascii.a2b_base64(data, strict_mode=True)
    # 3.9/3.10: the same check as a regular expression, slower (base64.b64decode's
    # validate=True lets excess padding through).
    if re.fullmatch(_STRICT_BASE64, data) is None:
        raise binascii.Error("not strict base64: a character outside the alphabet, or padding "
                             "that is not at the end")
    return binascii.a2b_base64(data)


# A pattern, compiled (and cached by ``re``) at its first use: only Python < 3.11 uses it, and
# compiling it at import cost every INIT ~1 M instructions.
_STRICT_BASE64 = rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"


__all__ = ["StrEnum", "StrPath", "a2b_base64_strict"]
