"""Set values in a YAML (or JSON) document by editing its text, so everything else stays as the
user wrote it: comments, key order, quoting and CloudFormation's short-form tags (``!Ref``,
``!Sub`` ...), which a load-and-dump round trip with PyYAML would lose or reject.

    node = compose(text, "template.yaml")
    edits = set_values(text, mapping_node, {"MemorySize": 3008,
                                            "Environment": {"Variables": {"K": "v"}}})
    new_text = apply(text, edits)

PyYAML's composer gives every node its place in the text (composing does not construct, so
unknown tags are fine). A value that exists is replaced in place; missing keys are inserted as a
block before the mapping's first key (same indentation), or at the front of a flow mapping in
JSON form, so a JSON template stays JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Union

import yaml

from lambdalite.errors import UsageError

Scalar = int | str
Tree = Mapping[str, Union[Scalar, "Tree"]]
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*")


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: str
    old: str = ""           # the value it replaces (empty for an insertion)


def compose(text: str, source: str) -> yaml.MappingNode:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise UsageError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(node, yaml.MappingNode):
        raise UsageError(f"{source} is not a YAML mapping (a SAM template has Resources:)")
    return node


def get(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    return next((v for k, v in mapping.value if isinstance(k, yaml.ScalarNode)
                 and k.value == key), None)


def apply(text: str, edits: list[Edit]) -> str:
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[:edit.start] + edit.text + text[edit.end:]
    return text


def set_values(text: str, mapping: yaml.MappingNode, values: Tree, *, where: str,
               indent: int = 2) -> list[Edit]:
    """The edits that give ``mapping`` these values (nested mappings merged key by key).
    ``where`` names the mapping in messages; ``indent`` is the step for inserted blocks."""
    edits: list[Edit] = []
    missing: dict[str, Scalar | Tree] = {}
    for key, value in values.items():
        node = get(mapping, key)
        if node is None:
            missing[key] = value
        elif isinstance(value, Mapping):
            if not isinstance(node, yaml.MappingNode):
                raise UsageError(f"{where}.{key} is {_describe(text, node)}, not a mapping: "
                                 f"set {_flat(value)} there by hand")
            edits += set_values(text, node, value, where=f"{where}.{key}", indent=indent)
        else:
            if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
                raise UsageError(f"{where}.{key} is {_describe(text, node)}: set it to "
                                 f"{value} by hand")
            start, end = node.start_mark.index, node.end_mark.index
            edits.append(Edit(start, end, _scalar(value, flow=bool(mapping.flow_style)),
                              f"{where}.{key}: {text[start:end]}"))
    if missing:
        edits.append(_insert(text, mapping, missing, indent))
    return edits


def _insert(text: str, mapping: yaml.MappingNode, values: Tree, indent: int) -> Edit:
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
                                  and yaml.safe_load(value) == value):
        return str(value)
    return json.dumps(value)


def _describe(text: str, node: yaml.Node) -> str:
    snippet = text[node.start_mark.index:node.end_mark.index].strip().splitlines()
    return f"`{snippet[0][:60]}`" if snippet else "empty"


def _flat(values: Tree, prefix: str = "") -> str:
    return ", ".join(_flat(v, f"{prefix}{k}.") if isinstance(v, Mapping) else f"{prefix}{k}={v}"
                     for k, v in values.items())
