"""CloudFormation YAML and the intrinsic functions lambdalite can resolve without AWS.

SAM templates use short-form tags (``!Ref``, ``!Sub``, ``!GetAtt`` ...) that a plain YAML
loader rejects; ``load_yaml`` turns each into the long form (``{"Ref": ...}``,
``{"Fn::Sub": ...}``) as CloudFormation does. ``Resolver`` then replaces what can be known
locally (Parameters with a Default or an override, pseudo parameters, ``Fn::Sub``/``Join``/
``FindInMap``/``Select`` over known values) and leaves every other intrinsic as it is, so the
caller can say which property it could not resolve.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from lambdalite.local.errors import TemplateError

# What `sam local` answers for pseudo parameters (no stack exists locally).
PSEUDO_PARAMETERS = {
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


class _Loader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form tags."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_Loader.add_multi_constructor("!", _construct_tag)


def load_yaml(text: str, source: str) -> Any:
    """Parse a template (YAML or JSON) with short-form tags; TemplateError when broken."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source} is not valid YAML: {exc}") from None


def is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and (
        "Ref" in value or next(iter(value)).startswith("Fn::"))


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a plain mapping (not an unresolved intrinsic), else ``{}``."""
    return value if isinstance(value, dict) and not is_intrinsic(value) else {}


def describe(value: Any) -> str:
    """A short form of an unresolved intrinsic for messages: ``!GetAtt Table.Arn``."""
    if not is_intrinsic(value):
        return repr(value)
    key, arg = next(iter(value.items()))
    tag = "!Ref" if key == "Ref" else "!" + key.removeprefix("Fn::")
    if key == "Fn::GetAtt" and isinstance(arg, list):
        arg = ".".join(map(str, arg))
    return f"{tag} {arg if isinstance(arg, str) else repr(arg)}"


def merge_globals(base: Any, override: Any) -> Any:
    """SAM's Globals rule: maps merge (the resource wins), lists concatenate, scalars override."""
    if isinstance(base, dict) and isinstance(override, dict) and not (
            is_intrinsic(base) or is_intrinsic(override)):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge_globals(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return [*base, *override]
    return override


class Resolver:
    """Resolves the intrinsics whose value is known locally; leaves the others in place."""

    def __init__(self, parameters: Mapping[str, Any], mappings: Mapping[str, Any]) -> None:
        self.values: dict[str, Any] = {**PSEUDO_PARAMETERS, **parameters}
        self.mappings = mappings

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r != {"Ref": NO_VALUE}]
        if not isinstance(value, dict):
            return value
        if not is_intrinsic(value):
            return {k: r for k, v in value.items() if (r := self.resolve(v)) != {"Ref": NO_VALUE}}
        key, arg = next(iter(value.items()))
        arg = self.resolve(arg)
        handler = getattr(self, "_" + key.replace("::", "_").lower(), None)
        result = handler(arg) if handler else None
        return {key: arg} if result is None else result

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
        if isinstance(arg, list) and len(arg) == 3 and all(isinstance(a, str) for a in arg):
            return self.mappings.get(arg[0], {}).get(arg[1], {}).get(arg[2])
        return None
