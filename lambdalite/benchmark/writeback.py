"""Write a ``--pick`` into the model or the deployment: the manifest's ``default_variant``, or a
SAM template's ``MemorySize`` and ``LAMBDALITE_BACKEND``/``LAMBDALITE_VARIANT`` per function.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lambdalite import envvars
from lambdalite.benchmark.config import TF_ROW, backend_of
from lambdalite.benchmark.pick import Verdict
from lambdalite.errors import UsageError
from lambdalite.manifest import Manifest
from lambdalite.sam.edit import set_function_values


def write_manifest(model_dir: Path, verdict: Verdict) -> Path:
    """Set the manifest's ``default_variant`` to the picked LiteRT variant."""
    manifest = Manifest.load(model_dir)
    if verdict.row not in manifest.variants:
        raise UsageError(f"the pick is {verdict.row!r}, not a LiteRT variant of this manifest: "
                         "set LAMBDALITE_BACKEND=tf in the function's environment instead")
    return manifest._replace(default_variant=verdict.row).save(model_dir)


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
    """What the pick sets on a function: MemorySize, the backend and (LiteRT, ONNX Runtime) the
    variant. The tf row is the original model: LAMBDALITE_VARIANT is left as it is."""
    values = {"MemorySize": str(verdict.memory_mb), envvars.BACKEND: backend_of(verdict.row)}
    if verdict.row != TF_ROW:
        values[envvars.VARIANT] = verdict.row
    return values


def write_template(template: Path, verdict: Verdict, function: str | None = None
                   ) -> TemplateChange:
    """Set MemorySize and Environment.Variables (LAMBDALITE_BACKEND, LAMBDALITE_VARIANT) of
    every AWS::Serverless::Function of a SAM template, or of ``function`` only. The function's
    own Properties get the values (they win over Globals). The text is edited in place
    (``lambdalite.sam.edit``): all else, comments and short-form tags such as !Ref, stays as
    written; a function build and local cannot read is refused with their error."""
    values = template_values(verdict)
    env = {k: v for k, v in values.items() if k != "MemorySize"}
    change = set_function_values(template, memory_mb=verdict.memory_mb, environment=env,
                                 function=function)
    return TemplateChange(change.functions, values, change.replaced)
