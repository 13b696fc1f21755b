"""The intrinsic functions whose value is known without AWS.

    resolver = Resolver({"Stage": "dev"}, mappings)
    resolver.resolve(doc["Resources"]["Fn"]["Properties"])

Resolved: ``Ref`` to a Parameter (its Default, or an override) or a pseudo parameter (what
``sam local`` answers: no stack exists), ``Fn::Sub`` / ``Fn::Join`` / ``Fn::Select`` /
``Fn::FindInMap`` over known values, and ``AWS::NoValue`` (the key or item is removed). Every
other intrinsic (``!GetAtt``, ``!ImportValue``, ``!If`` ...) stays as it is, with its line, so
that the code that needs a value can say which one it could not have and where (``unresolved``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lambdalite.sam.decode import Map, Seq, is_intrinsic

PSEUDO_PARAMETERS: dict[str, Any] = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "local",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/local/"
                    "51af3dc0-da77-11e4-872e-1234567db123",
    "AWS::NotificationARNs": [],
}
NO_VALUE = "AWS::NoValue"
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


def _is_no_value(value: Any) -> bool:
    return isinstance(value, dict) and value == {"Ref": NO_VALUE}


CANNOT_RESOLVE = ("which cannot be resolved without AWS; use a literal or a Parameter with a "
                  "Default")


def unresolved(prop: str, shown: str) -> str:
    """The message for an intrinsic (``shown``: ``describe(value)``) where a value is needed."""
    return f"{prop} is {shown}, {CANNOT_RESOLVE}"


class Resolver:
    """Resolves the intrinsics whose value is known locally; leaves the others in place."""

    def __init__(self, parameters: Mapping[str, Any], mappings: Mapping[str, Any]) -> None:
        self.values: dict[str, Any] = {**PSEUDO_PARAMETERS, **parameters}
        self.mappings = mappings

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            item_lines = value.lines if isinstance(value, Seq) else [None] * len(value)
            kept = [(r, n) for r, n in ((self.resolve(v), n) for v, n in zip(
                value, item_lines, strict=True)) if not _is_no_value(r)]
            return Seq((r for r, _ in kept), line=getattr(value, "line", None),
                       lines=(n for _, n in kept))
        if not isinstance(value, dict):
            return value
        line = getattr(value, "line", None)
        if not is_intrinsic(value):
            key_lines = value.lines if isinstance(value, Map) else {}
            items = [(k, r) for k, v in value.items() if not _is_no_value(r := self.resolve(v))]
            return Map(items, line=line,
                       lines={k: key_lines[k] for k, _ in items if k in key_lines})
        key, arg = next(iter(value.items()))
        arg = self.resolve(arg)
        handler = getattr(self, "_" + key.replace("::", "_").lower(), None)
        result = handler(arg) if handler else None
        return Map([(key, arg)], line=line, lines=getattr(value, "lines", None)) \
            if result is None else result

    def _ref(self, name: Any) -> Any:
        return self.values.get(name) if isinstance(name, str) else None

    def _fn_sub(self, arg: Any) -> str | None:
        template, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        if not isinstance(template, str) or not isinstance(extra, dict):
            return None
        known = {**self.values, **extra}
        missing = [m for m in _SUB_VAR.findall(template)
                   if not isinstance(known.get(m.strip()), str | int | float)]
        if missing:
            return None
        text = _SUB_VAR.sub(lambda m: str(known[m.group(1).strip()]), template)
        return text.replace("${!", "${")

    def _fn_join(self, arg: Any) -> str | None:
        if (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)
                and isinstance(arg[1], list) and all(isinstance(p, str | int) for p in arg[1])):
            return arg[0].join(map(str, arg[1]))
        return None

    def _fn_select(self, arg: Any) -> Any:
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            try:
                return arg[1][int(arg[0])]
            except (ValueError, IndexError, TypeError):
                return None
        return None

    def _fn_findinmap(self, arg: Any) -> Any:
        if not (isinstance(arg, list) and len(arg) == 3 and all(isinstance(a, str) for a in arg)):
            return None
        found: Any = self.mappings
        for key in arg:
            found = found.get(key) if isinstance(found, dict) else None
        return found


__all__ = ["CANNOT_RESOLVE", "NO_VALUE", "PSEUDO_PARAMETERS", "Resolver", "unresolved"]
