"""Write a ``--pick`` into the model or the deployment: the manifest's ``default_variant``, or a
SAM template's ``MemorySize`` and ``LAMBDALITE_BACKEND``/``LAMBDALITE_VARIANT`` per function.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from lambdalite import envvars
from lambdalite.bench import yaml_edit
from lambdalite.bench.config import TF_ROW
from lambdalite.bench.pick import Verdict
from lambdalite.errors import UsageError
from lambdalite.manifest import Manifest


def write_manifest(model_dir: Path, verdict: Verdict) -> Path:
    """Set the manifest's ``default_variant`` to the picked LiteRT variant."""
    manifest = Manifest.load(model_dir)
    if verdict.row not in manifest.variants:
        raise UsageError(f"the pick is {verdict.row!r}, not a LiteRT variant of this manifest: "
                         "set LAMBDALITE_BACKEND=tf in the function's environment instead")
    return replace(manifest, default_variant=verdict.row).save(model_dir)


FUNCTION = "AWS::Serverless::Function"


@dataclass(frozen=True)
class TemplateChange:
    functions: tuple[str, ...]      # logical ids that were set
    values: dict[str, str]          # what each got: MemorySize and the environment variables
    replaced: tuple[str, ...] = ()  # intrinsics (!Ref ...) that held one of these values

    def text(self, template: Path) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.values.items())
        lines = [f"set {settings} for {', '.join(self.functions)} in {template}"]
        lines += [f"  replaced {old}" for old in self.replaced]
        return "\n".join(lines)


def template_values(verdict: Verdict) -> dict[str, str]:
    """What the pick sets on a function: MemorySize, the backend and (LiteRT) the variant.
    The tf row is the original model: LAMBDALITE_VARIANT is left as it is."""
    values = {"MemorySize": str(verdict.memory_mb)}
    if verdict.row == TF_ROW:
        values[envvars.BACKEND] = "tf"
    else:
        values[envvars.BACKEND] = "litert"
        values[envvars.VARIANT] = verdict.row
    return values


def write_template(template: Path, verdict: Verdict, function: str | None = None
                   ) -> TemplateChange:
    """Set MemorySize and Environment.Variables (LAMBDALITE_BACKEND, LAMBDALITE_VARIANT) of
    every AWS::Serverless::Function of a SAM template, or of ``function`` only. The function's
    own Properties get the values (they win over Globals). The text is edited in place
    (``yaml_edit``): all else, comments and short-form tags such as !Ref, stays as written."""
    text = template.read_text()
    root = yaml_edit.compose(text, str(template))
    resources = yaml_edit.get(root, "Resources")
    if not isinstance(resources, yaml.MappingNode):
        raise UsageError(f"{template} has no Resources mapping: is it a SAM template?")
    targets = _functions(resources, template, function)
    values = template_values(verdict)
    env = {k: v for k, v in values.items() if k != "MemorySize"}
    wanted: yaml_edit.Tree = {"Properties": {"MemorySize": verdict.memory_mb,
                                             "Environment": {"Variables": env}}}
    # The template's own indentation step (Resources' keys against the top level's).
    step = 2 if resources.flow_style or not resources.value else max(
        resources.value[0][0].start_mark.column - root.value[0][0].start_mark.column, 2)
    edits = [e for name, node in targets for e in yaml_edit.set_values(
        text, node, wanted, where=f"Resources.{name}", indent=step)]
    new = yaml_edit.apply(text, edits)
    _check_written(new, template, [name for name, _ in targets], verdict.memory_mb, env)
    template.write_text(new)
    return TemplateChange(tuple(name for name, _ in targets), values,
                          tuple(e.old for e in edits if ": !" in e.old))


def _functions(resources: yaml.MappingNode, template: Path, function: str | None
               ) -> list[tuple[str, yaml.MappingNode]]:
    found = [(k.value, v) for k, v in resources.value if isinstance(v, yaml.MappingNode)
             and getattr(yaml_edit.get(v, "Type"), "value", None) == FUNCTION]
    if function is not None:
        named = [(name, node) for name, node in found if name == function]
        if not named:
            raise UsageError(f"{template} has no {FUNCTION} named {function!r}" + (
                f" (it has {', '.join(name for name, _ in found)})" if found else ""))
        return named
    if not found:
        raise UsageError(f"{template} has no {FUNCTION} resource to set: add one, or write a "
                         "template with `lambdalite template`")
    return found


def _check_written(text: str, template: Path, names: list[str], memory_mb: int,
                   env: dict[str, str]) -> None:
    """Read the edited text back; a mismatch leaves the template unchanged."""
    from lambdalite.local.cfn import load_yaml

    doc = load_yaml(text, str(template))
    for name in names:
        props = doc["Resources"][name]["Properties"]
        variables = props["Environment"]["Variables"]
        if props["MemorySize"] != memory_mb or any(variables.get(k) != v for k, v in env.items()):
            raise UsageError(f"could not set the pick in {template} ({name}) without changing "
                             "other text; it is unchanged: set MemorySize and "
                             f"{', '.join(env)} by hand")
