"""``--pick``: the best row x MemorySize of a benchmark for the user's constraints, and why.

Constraints: the accuracy a variant may lose against float32 (points), the largest package
(unzipped x86_64 MB), and an objective: ``latency`` (warm p50, then cold start), ``cost``
(x86_64 cost per million requests) or ``size`` (package, then warm p50).
The choice can be written into the manifest (``default_variant``) or a SAM template (each
function's ``MemorySize``, ``LAMBDALITE_BACKEND`` and ``LAMBDALITE_VARIANT``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import yaml

from lambdalite import envvars
from lambdalite.bench import yaml_edit
from lambdalite.bench.config import TF_ROW
from lambdalite.bench.render import fmt_bytes, fmt_ms, fmt_usd
from lambdalite.bench.results import BenchResult, CellResult, RowResult
from lambdalite.errors import UsageError
from lambdalite.manifest import Manifest
from lambdalite.platform import MB

Objective = Literal["latency", "cost", "size"]
OBJECTIVES = ("latency", "cost", "size")


@dataclass(frozen=True)
class Constraints:
    objective: Objective = "latency"
    max_accuracy_drop: float | None = None   # points against float32
    max_size_mb: float | None = None         # unzipped x86_64 package


@dataclass(frozen=True)
class Candidate:
    row: RowResult
    cell: CellResult
    warm_p50: float
    cold_p50: float
    cost: float
    size: int | None


@dataclass(frozen=True)
class Verdict:
    row: str
    memory_mb: int
    reasons: tuple[str, ...]
    rejected: tuple[str, ...]

    def text(self) -> str:
        lines = [f"pick: {self.row} at {self.memory_mb} MB"]
        lines += [f"  {'because' if i == 0 else '-'} {r}" for i, r in enumerate(self.reasons)]
        lines += [f"  not {r}" for r in self.rejected]
        return "\n".join(lines)


def pick(result: BenchResult, constraints: Constraints) -> Verdict:
    if constraints.objective not in OBJECTIVES:
        raise UsageError(f"--objective must be one of {', '.join(OBJECTIVES)}")
    ok: list[Candidate] = []
    rejected: list[str] = []
    for cell in result.cells:
        row = result.row(cell.row)
        if row is None:
            continue
        why = _rejection(row, cell, constraints)
        if why:
            rejected.append(f"{cell.row} @ {cell.memory_mb} MB: {why}")
            continue
        cold, warm = cell.cold_start(), cell.summary("warm")
        cost = cell.cost("x86_64", result.cold_fraction)
        assert cold and warm and cost is not None   # _rejection checked they exist
        size = row.size("x86_64")
        ok.append(Candidate(row, cell, warm.p50, cold.p50, cost,
                            size.unzipped_bytes if size else None))
    if not ok:
        raise UsageError("no variant meets the constraints:\n  " + "\n  ".join(rejected))
    best = min(ok, key=_key(constraints.objective))
    return Verdict(best.row.row, best.cell.memory_mb, _reasons(best, ok, constraints),
                   tuple(rejected))


def _rejection(row: RowResult, cell: CellResult, c: Constraints) -> str | None:
    if cell.error or not cell.warm or cell.cold_start() is None:
        return f"it did not run cleanly ({cell.error or 'no samples'})"
    drop = row.accuracy_drop_points
    if c.max_accuracy_drop is not None and drop is not None and drop > c.max_accuracy_drop:
        return f"it loses {drop:.2f} accuracy points (limit {c.max_accuracy_drop})"
    size = row.size("x86_64")
    if c.max_size_mb is not None:
        if size is None or size.unzipped_bytes is None:
            return "its package size is unknown"
        if size.unzipped_bytes > c.max_size_mb * MB:
            return f"its package is {fmt_bytes(size.unzipped_bytes)} (limit {c.max_size_mb:g} MB)"
    return None


def _key(objective: str) -> Callable[[Candidate], tuple[float, float]]:
    if objective == "cost":
        return lambda c: (c.cost, c.warm_p50)
    if objective == "size":
        return lambda c: (c.size if c.size is not None else float("inf"), c.warm_p50)
    return lambda c: (c.warm_p50, c.cold_p50)


def _reasons(best: Candidate, ok: list[Candidate], c: Constraints) -> tuple[str, ...]:
    reasons = [{
        "latency": f"it has the lowest warm p50 ({fmt_ms(best.warm_p50)}) of {len(ok)} "
                   "candidate(s) that meet the constraints",
        "cost": f"it is the cheapest ({fmt_usd(best.cost)} per 1M requests on x86_64) of "
                f"{len(ok)} candidate(s) that meet the constraints",
        "size": f"its package is the smallest ({fmt_bytes(best.size)}) of {len(ok)} "
                "candidate(s) that meet the constraints",
    }[c.objective]]
    reasons.append(f"cold start {fmt_ms(best.cold_p50)}, warm p50 {fmt_ms(best.warm_p50)}, "
                   f"{fmt_usd(best.cost)}/1M, package {fmt_bytes(best.size)}, accuracy "
                   + ("n/a" if best.row.accuracy is None else f"{best.row.accuracy * 100:.2f}%"))
    if best.row.accuracy is None and c.max_accuracy_drop is not None:
        reasons.append("its accuracy is unknown (no labelled evaluation in the manifest), so "
                       "the accuracy limit could not be checked")
    runner_up = sorted(ok, key=_key(c.objective))[1:2]
    for other in runner_up:
        reasons.append(f"runner-up: {other.row.row} @ {other.cell.memory_mb} MB (warm p50 "
                       f"{fmt_ms(other.warm_p50)}, {fmt_usd(other.cost)}/1M, "
                       f"{fmt_bytes(other.size)})")
    return tuple(reasons)


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
