"""Text-preserving edits of a template: set values, leave every other character as it was.

    change = set_function_values(Path("template.yaml"), memory_mb=3008,
                                 environment={"LAMBDALITE_VARIANT": "dynamic"})

A value that exists is replaced where it is written; a missing key is inserted before the
mapping's first key (same indentation), or at the front of a flow mapping in JSON form, so a
JSON template stays JSON. The positions come from ruamel.yaml's composer (composing does not
construct, so every tag is fine).

Why text surgery and not ruamel.yaml's round trip (load, set, dump): the round trip keeps
comments and tags, but rewrites lines the edit never touched: it indents every mapping and
sequence alike (a template indented by four, or with ``- item`` under its key, changes
throughout), drops a leading ``---``, rewrites ``True`` as ``true`` and ``~`` as nothing,
respaces flow mappings (``{ a: 1 }``), and dumps a JSON template as one flow line that is no
longer JSON (tested in ``tests/unit/sam/test_edit.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lambdalite.sam.decode import loader, not_a_mapping, syntax_error
from lambdalite.sam.errors import TemplateError
from lambdalite.sam.model import FUNCTION
from lambdalite.sam.parse import parse, read_text

Scalar = int | str
Tree = Mapping[str, Union[Scalar, "Tree"]]
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*")


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: str
    old: str = ""           # the value it replaces (empty for an insertion)
    intrinsic: bool = False     # the value replaced was an intrinsic (!Ref ..., {"Ref": ...})


@dataclass(frozen=True)
class FunctionChange:
    functions: tuple[str, ...]      # logical ids that were set
    replaced: tuple[str, ...] = ()  # intrinsics (!Ref ...) that held one of the values


def set_function_values(path: Path, *, memory_mb: int, environment: Mapping[str, str],
                        function: str | None = None) -> FunctionChange:
    """Set ``MemorySize`` and ``Environment.Variables`` of every AWS::Serverless::Function of
    the template at ``path``, or of ``function`` only, in the function's own Properties (they
    win over Globals). The template is read as build and local read it, before (an unusable
    function is refused with its error and line) and after (the text must give the values)."""
    text = read_text(path)
    before = parse(text, path)
    root = compose(text, path)
    resources = get(root, "Resources")
    if not isinstance(resources, MappingNode):
        raise TemplateError(f"{path} has no Resources mapping: is it a SAM template?")
    targets = _functions(resources, path, function)
    wanted: Tree = {"Properties": {"MemorySize": memory_mb,
                                   "Environment": {"Variables": dict(environment)}}}
    # The template's own indentation step (Resources' keys against the top level's).
    step = 2 if resources.flow_style or not resources.value else max(
        resources.value[0][0].start_mark.column - root.value[0][0].start_mark.column, 2)
    edits = [e for name, node in targets for e in set_values(
        text, node, wanted, where=f"Resources.{name}", indent=step, path=path)]
    new = apply(text, edits)
    _check(new, path, before.broken, [name for name, _ in targets], memory_mb, environment)
    path.write_text(new)
    return FunctionChange(tuple(name for name, _ in targets),
                          tuple(e.old for e in edits if e.intrinsic))


def compose(text: str, path: Path | str) -> MappingNode:
    try:
        node = loader().compose(text)
    except YAMLError as exc:
        raise syntax_error(exc, path) from None
    if not isinstance(node, MappingNode):
        raise not_a_mapping(path)
    return node


def get(mapping: MappingNode, key: str) -> Node | None:
    return next((v for k, v in mapping.value if isinstance(k, ScalarNode)
                 and k.value == key), None)


def apply(text: str, edits: list[Edit]) -> str:
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[:edit.start] + edit.text + text[edit.end:]
    return text


def set_values(text: str, mapping: MappingNode, values: Tree, *, where: str,
               indent: int = 2, path: Path | str | None = None) -> list[Edit]:
    """The edits that give ``mapping`` these values (nested mappings merged key by key).
    ``where`` names the mapping in messages (``path``: the template's file); ``indent`` is the
    step for inserted blocks."""
    edits: list[Edit] = []
    missing: dict[str, Scalar | Tree] = {}
    for key, value in values.items():
        node = get(mapping, key)
        if node is None:
            missing[key] = value
        elif isinstance(value, Mapping):
            if not isinstance(node, MappingNode):
                raise _by_hand(node, path, f"{where}.{key} is {_describe(text, node)}, not a "
                                           f"mapping: set {_flat(value)} there by hand")
            edits += set_values(text, node, value, where=f"{where}.{key}", indent=indent,
                                path=path)
        else:
            intrinsic = _is_intrinsic(node)
            if not intrinsic and (not isinstance(node, ScalarNode) or node.style in ("|", ">")):
                raise _by_hand(node, path, f"{where}.{key} is {_describe(text, node)}: set it "
                                           f"to {value} by hand")
            start, end = node.start_mark.index, _end(node)
            old = " ".join(text[start:end].split())
            edits.append(Edit(start, end, _scalar(value, flow=bool(mapping.flow_style)),
                              f"{where}.{key}: {old}", intrinsic))
    if missing:
        edits.append(_insert(text, mapping, missing, indent))
    return edits


def _functions(resources: MappingNode, path: Path, function: str | None
               ) -> list[tuple[str, MappingNode]]:
    found = [(str(k.value), v) for k, v in resources.value if isinstance(v, MappingNode)
             and getattr(get(v, "Type"), "value", None) == FUNCTION]
    if function is not None:
        named = [(name, node) for name, node in found if name == function]
        if not named:
            raise TemplateError(f"{path} has no {FUNCTION} named {function!r}" + (
                f" (it has {', '.join(name for name, _ in found)})" if found else ""))
        return named
    if not found:
        raise TemplateError(f"{path} has no {FUNCTION} resource to set: add one, or write a "
                            "template with `lambdalite template`")
    return found


def _check(text: str, path: Path, broken_before: Mapping[str, TemplateError],
           names: list[str], memory_mb: int, environment: Mapping[str, str]) -> None:
    """Read the edited text as build and local do; a mismatch leaves the template unchanged.
    A function unusable before the edit is refused with that error (its line in the file as
    it is), unless the edit is what made it usable (a MemorySize out of bounds, replaced)."""
    after = parse(text, path)
    for name in names:
        if name in after.broken:
            raise broken_before.get(name, after.broken[name])
        fn = after.functions[name]
        if fn.memory_mb != memory_mb or any(fn.environment.get(k) != v
                                            for k, v in environment.items()):
            raise TemplateError(f"could not set the values in {path} ({name}) without changing "
                                "other text; it is unchanged: set MemorySize and "
                                f"{', '.join(environment)} by hand")


def _insert(text: str, mapping: MappingNode, values: Tree, indent: int) -> Edit:
    if mapping.flow_style:
        start = mapping.start_mark.index + 1        # just after "{"
        body = json.dumps(values)[1:-1]
        return Edit(start, start, body + (", " if mapping.value else ""))
    first = mapping.value[0][0]
    column = first.start_mark.column
    lines = _block(values, column, indent)
    # Before the first key: "<new lines>\n<indent>" then the first key where it was.
    return Edit(first.start_mark.index, first.start_mark.index,
                "\n".join(lines)[column:] + "\n" + " " * column)


def _block(values: Tree, column: int, indent: int) -> list[str]:
    lines = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            lines.append(f"{' ' * column}{_scalar(key, flow=False)}:")
            lines += _block(value, column + indent, indent)
        else:
            lines.append(f"{' ' * column}{_scalar(key, flow=False)}: {_scalar(value, flow=False)}")
    return lines


def _scalar(value: Scalar, *, flow: bool) -> str:
    """A plain scalar where YAML reads it back as the same value, else JSON (valid YAML)."""
    if isinstance(value, int) or (not flow and _PLAIN.fullmatch(value)
                                  and loader().load(value) == value):
        return str(value)
    return json.dumps(value)


def _is_intrinsic(node: Node) -> bool:
    """``!Ref X``, ``!Select [...]`` (any local tag), or ``{Ref: X}`` / ``Fn::...:`` (long form)."""
    tag = str(getattr(node.tag, "value", node.tag) or "")
    if tag.startswith("!") and not tag.startswith("!!"):
        return True
    return isinstance(node, MappingNode) and len(node.value) == 1 and isinstance(
        node.value[0][0], ScalarNode) and (node.value[0][0].value == "Ref"
                                           or str(node.value[0][0].value).startswith("Fn::"))


def _end(node: Node) -> int:
    """Where the node's text ends: a block collection ends with its last value (its end mark
    is the start of what follows, past the line break)."""
    if isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        return _end(last[1] if isinstance(node, MappingNode) else last)
    return int(node.end_mark.index)


def _by_hand(node: Node, path: Path | str | None, text: str) -> TemplateError:
    return TemplateError(text, path=path, line=node.start_mark.line + 1)


def _describe(text: str, node: Node) -> str:
    snippet = text[node.start_mark.index:node.end_mark.index].strip().splitlines()
    return f"`{snippet[0][:60]}`" if snippet else "empty"


def _flat(values: Tree, prefix: str = "") -> str:
    return ", ".join(_flat(v, f"{prefix}{k}.") if isinstance(v, Mapping) else f"{prefix}{k}={v}"
                     for k, v in values.items())


__all__ = ["Edit", "FunctionChange", "apply", "compose", "get", "set_function_values",
           "set_values"]
