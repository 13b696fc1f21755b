"""Template text -> document: YAML or JSON, short-form tags in long form, every node's line.

    doc = decode(text, "template.yaml")
    doc["Resources"]["Fn"].line_of("Properties")     # 14: the line of that key (1-based)

Mappings are ``Map`` and sequences ``Seq``: a ``dict`` / ``list`` that also knows the line of
itself and of each key or item, so that an error can say where the value was written.
ruamel.yaml's round-trip loader gives those lines (PyYAML's loader does not) and accepts the
tags a safe loader rejects. CloudFormation's short forms become their long form, as
CloudFormation reads them: ``!Ref X`` -> ``{"Ref": "X"}``, ``!GetAtt R.Arn`` ->
``{"Fn::GetAtt": ["R", "Arn"]}``, ``!Condition C`` -> ``{"Condition": "C"}``, any other
``!Name v`` -> ``{"Fn::Name": v}``. Scalars are read as YAML 1.1, the version CloudFormation
(and PyYAML, cfn-lint, the SAM CLI) read: ``yes``/``on`` are booleans, ``0755`` is octal.
JSON is YAML, so a JSON template takes the same path.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.scalarbool import ScalarBoolean

from lambdalite.sam.errors import TemplateError


class Map(dict[str, Any]):
    """A mapping of the template; ``line`` is where it starts, ``lines`` where each key is."""

    __slots__ = ("line", "lines")

    def __init__(self, items: Iterable[tuple[str, Any]] = (), *, line: int | None = None,
                 lines: dict[str, int] | None = None) -> None:
        super().__init__(items)
        self.line = line
        self.lines: dict[str, int] = dict(lines or {})

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key, self.line)


class Seq(list[Any]):
    """A sequence of the template; ``lines[i]`` is the line of item ``i`` (None: unknown)."""

    __slots__ = ("line", "lines")

    def __init__(self, items: Iterable[Any] = (), *, line: int | None = None,
                 lines: Iterable[int | None] = ()) -> None:
        super().__init__(items)
        self.line = line
        self.lines: list[int | None] = list(lines)

    def line_of(self, index: int) -> int | None:
        return self.lines[index] if index < len(self.lines) and self.lines[index] else self.line


class _Constructor(RoundTripConstructor):
    """YAML 1.1 as PyYAML reads it: ``y`` and ``n`` stay strings (``!Select [1, [x, y]]``)."""

    def construct_yaml_bool(self, node: ScalarNode) -> Any:
        if node.value in ("y", "Y", "n", "N"):
            return self.construct_scalar(node)
        return super().construct_yaml_bool(node)


_Constructor.add_constructor("tag:yaml.org,2002:bool", _Constructor.construct_yaml_bool)


def loader() -> YAML:
    """A new round-trip loader (ruamel's YAML objects are not thread-safe: one per call)."""
    yaml = YAML(typ="rt", pure=True)
    yaml.version = (1, 1)
    yaml.Constructor = _Constructor
    return yaml


def decode(text: str, path: Path | str) -> Map:
    """The template as a document; TemplateError (with the line) when it is not YAML/JSON or
    not a mapping."""
    try:
        loaded = loader().load(text)
    except YAMLError as exc:
        raise syntax_error(exc, path) from None
    doc = _plain(loaded, 1)
    if not isinstance(doc, Map):
        raise not_a_mapping(path)
    return doc


def syntax_error(exc: YAMLError, path: Path | str) -> TemplateError:
    """ruamel.yaml's error as a TemplateError at the line it names."""
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot be parsed"
        return TemplateError(f"the template is not valid YAML: {problem}", path=path,
                             line=mark.line + 1 if mark is not None else None)
    return TemplateError(f"the template is not valid YAML: {exc}", path=path)


def not_a_mapping(path: Path | str) -> TemplateError:
    return TemplateError("is not a YAML mapping (a SAM template has a Resources section)",
                         path=path)


def _plain(value: Any, line: int | None) -> Any:
    """ruamel's round-trip objects -> Map / Seq / str / int / float / bool / None."""
    tag = getattr(getattr(value, "tag", None), "value", None)
    result: Any
    if isinstance(value, TaggedScalar):
        result = str(value.value) if value.value is not None else ""
    elif isinstance(value, CommentedMap):
        data = value.lc.data or {}
        own = value.lc.line + 1 if value.lc.line is not None else line
        key_lines: dict[str, int] = {str(k): data[k][0] + 1 for k in value if k in data}
        result = Map(((str(k), _plain(v, key_lines.get(str(k), own))) for k, v in value.items()),
                     line=own, lines=key_lines)
    elif isinstance(value, CommentedSeq):
        data = value.lc.data or {}
        own = value.lc.line + 1 if value.lc.line is not None else line
        item_lines = [data[i][0] + 1 if i in data else own for i in range(len(value))]
        result = Seq((_plain(v, n) for v, n in zip(value, item_lines, strict=True)), line=own,
                     lines=item_lines)
    else:
        return _scalar(value)
    if isinstance(tag, str) and tag.startswith("!") and not tag.startswith("!!"):
        return _long_form(tag[1:], result, line)
    return result


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | ScalarBoolean):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime.datetime):   # an unquoted date: as it was written
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _long_form(name: str, value: Any, line: int | None) -> Map:
    if name == "GetAtt" and isinstance(value, str):
        value = Seq(value.split(".", 1), line=line, lines=[line, line])
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"
    return Map([(key, value)], line=line, lines={key: line} if line else None)


def is_intrinsic(value: Any) -> bool:
    """``{"Ref": ...}`` or ``{"Fn::...": ...}``: a value CloudFormation computes."""
    return isinstance(value, dict) and len(value) == 1 and (
        "Ref" in value or str(next(iter(value))).startswith("Fn::"))


def mapping(value: Any) -> Map:
    """``value`` if it is a plain mapping (not an intrinsic), else an empty Map."""
    if isinstance(value, Map) and not is_intrinsic(value):
        return value
    if isinstance(value, dict) and not is_intrinsic(value):
        return Map(value.items())
    return Map(line=getattr(value, "line", None))


def describe(value: Any) -> str:
    """A value for a message: an intrinsic in its short form (``!GetAtt Table.Arn``)."""
    if not is_intrinsic(value):
        return repr(value)
    key, arg = next(iter(value.items()))
    tag = "!Ref" if key == "Ref" else "!" + key.removeprefix("Fn::")
    if key == "Fn::GetAtt" and isinstance(arg, list):
        arg = ".".join(map(str, arg))
    return f"{tag} {arg if isinstance(arg, str) else repr(arg)}"


__all__ = ["Map", "Seq", "decode", "describe", "is_intrinsic", "loader", "mapping", "not_a_mapping",
           "syntax_error"]
