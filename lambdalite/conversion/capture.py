"""Capture what the TFLite converter says, and keep what matters to a user.

The converter talks on three channels: Python ``warnings``, the ``logging``
module (absl/TensorFlow loggers) and C++ logs written straight to file
descriptor 2 by MLIR. We capture all three for the length of one conversion and
keep only lines about TF Select (Flex) fallbacks and unsupported ops.
"""

from __future__ import annotations

import contextlib
import enum
import io
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from lambdalite.function.backends.tf import QUIET_LOGGERS, capture_fd


class NoteKind(enum.StrEnum):
    TF_SELECT = "tf_select"  # ops that will run through the Flex delegate
    UNSUPPORTED = "unsupported"  # ops with no TFLite kernel
    WARNING = "warning"


@dataclass(frozen=True)
class Note:
    kind: NoteKind
    text: str


# Order matters: the first pattern that matches a line decides its kind.
PATTERNS: tuple[tuple[NoteKind, re.Pattern[str]], ...] = (
    (NoteKind.TF_SELECT, re.compile(r"TF Select|Flex ops|flex delegate|SELECT_TF_OPS", re.I)),
    (
        NoteKind.UNSUPPORTED,
        re.compile(
            r"not supported by|unsupported op|failed to legalize|ops that can be supported"
            r"|^Custom ops:|neither a custom op nor a flex op",
            re.I,
        ),
    ),
)
# The converter's summary lines: "TF Select ops: A, B", "Flex ops: FlexA", "Custom ops: C".
SELECT_OPS = re.compile(r"^\s*(?:TF Select ops|Flex ops):\s*(.+?)\s*$", re.M)
CUSTOM_OPS = re.compile(r"^\s*Custom ops:\s*(.+?)\s*$", re.M)
MAX_NOTES = 8
LISTENED_LOGGERS = QUIET_LOGGERS   # the loggers import_tensorflow() quiets
MAX_LINE = 400


@dataclass
class Captured:
    text: str = ""
    notes: list[Note] = field(default_factory=list)


def classify(text: str) -> list[Note]:
    notes: list[Note] = []
    seen: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        for kind, pattern in PATTERNS:
            if line and pattern.search(line) and line not in seen:
                seen.add(line)
                notes.append(Note(kind, line[:MAX_LINE]))
                break
    return notes[:MAX_NOTES]


@contextlib.contextmanager
def capture_converter_output() -> Iterator[Captured]:
    """Collect converter output; ``notes`` are filled even when the conversion raises."""
    result = Captured()
    py_out = io.StringIO()
    handler = logging.StreamHandler(py_out)
    root = logging.getLogger()
    root.addHandler(handler)
    # import_tensorflow() sets these loggers to ERROR so that nothing chatters outside a
    # conversion; while we listen, their warnings are what we are here for.
    levels = {name: logging.getLogger(name).level for name in LISTENED_LOGGERS}
    for name in LISTENED_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    caught: list[warnings.WarningMessage] = []
    c_err: Callable[[], str] = str
    try:
        with (
            capture_fd(2) as c_err,
            contextlib.redirect_stdout(py_out),
            contextlib.redirect_stderr(py_out),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            yield result
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        texts = [py_out.getvalue(), c_err(), *(str(w.message) for w in caught)]
        result.text = "\n".join(t for t in texts if t)
        result.notes = classify(result.text)


def ops_listed(text: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    """Op names from the converter's summary lines, without the ``Flex`` prefix, sorted."""
    names = {
        name.strip().removeprefix("Flex")
        for found in pattern.findall(text)
        for name in found.split(",")
        if name.strip()
    }
    return tuple(sorted(names))
