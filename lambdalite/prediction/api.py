"""``lambdalite.predict``: files in, the function's answers out, through the real function in the
local Lambda.

    result = lambdalite.predict(PredictOptions(target=Path("model"), files=(Path("7.png"),)))
    for call in result.calls:
        print(call.reply.body, call.result.report.line())

``target`` is a model folder (or ``mnist``/``stegastamp``, the bundled examples): its function is built for
this machine's runtime and architecture, or a cached build is reused (``cache.py``); or a SAM
template (a file, or a folder holding template.yaml): its function is run as the template says.
Each file is one invocation, in order, in one local Lambda (the first is a cold start, the next
ones warm), sent as the function's trigger sends it (``local.triggers``; ``trigger`` chooses):

    image (.png, .jpg, ...)  the file's bytes as the body (HTTP), {"image": "<base64>"} (direct)
    .npy                     {"inputs": {"npy": "<base64 of the file>"}}
    .json                    {"inputs": <the file>}, or the file itself when it is already a
                             request (an object with "inputs", "image" or "images")
"""

from __future__ import annotations

import base64
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lambdalite import progress as progress_
from lambdalite.bundle.options import Backend
from lambdalite.errors import UsageError
from lambdalite.examples import mnist_example, stegastamp_example
from lambdalite.lambda_facts import BUILDABLE_RUNTIMES, DEFAULT_RUNTIME, host_arch
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import InvokeResult
from lambdalite.local.specs import LocalTemplate, read_template
from lambdalite.local.triggers import JSON_TYPE, NPY_TYPE, Body, Reply, Trigger, pick_trigger
from lambdalite.prediction.cache import cached_build

MNIST = "mnist"
EXAMPLES = {MNIST: mnist_example, "stegastamp": stegastamp_example}   # bundled, by name
REQUEST_KEYS = ("inputs", "image", "images")


@dataclass(frozen=True)
class PredictOptions:
    """``files`` sent to the function of ``target`` (a model folder, ``mnist`` or a template).

    ``function``: which function of a template (required when it has several); ``trigger``:
    one of ``local.triggers.TRIGGER_KINDS`` (default: the function's first); ``variant`` and
    ``backend``: how a model folder is built; ``cache_dir``: where its builds are kept
    (> ``$LAMBDALITE_CACHE_DIR`` > ``~/.cache/lambdalite/predict``); ``python``: the
    interpreter, as ``lambdalite local --python``."""

    target: Path
    files: tuple[Path, ...]
    function: str | None = None
    trigger: str | None = None
    variant: str | None = None
    backend: Backend = "litert"
    cache_dir: Path | None = None
    python: str | None = None


@dataclass(frozen=True)
class PredictCall:
    file: Path
    reply: Reply                  # the answer as the trigger's caller sees it
    result: InvokeResult          # the invocation: payload, logs, REPORT figures


@dataclass(frozen=True)
class PredictResult:
    template: Path
    function: str
    trigger: str                  # how the function was called (Trigger.describe)
    built: bool                   # False: a model folder's cached build was reused, or a template
    limits_notice: str
    calls: tuple[PredictCall, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(call.reply.ok for call in self.calls)


def predict(options: PredictOptions, *,
            progress: progress_.Progress | None = None) -> PredictResult:
    if not options.files:
        raise UsageError("name at least one file to send (an image, a .npy or a .json)")
    bodies = [request_body(path) for path in options.files]   # bad files fail before a build
    template_path, built = template_for(options.target, variant=options.variant,
                                        backend=options.backend, cache_dir=options.cache_dir,
                                        progress=progress)
    template = read_template(template_path)
    name = _function(template, options.function)
    spec = template.functions[name]
    trigger = pick_trigger(spec, options.trigger)
    calls = []
    with LocalLambda({name: spec}, python=options.python, idle_timeout_s=600) as engine:
        for path, body in zip(options.files, bodies, strict=True):
            calls.append(_call(engine, name, trigger, path, body))
        notice, warnings = engine.limits_notice, engine.warnings
    template_warnings = [w for w in template.warnings if w.startswith(f"{name}: ")]
    return PredictResult(template_path, name, trigger.describe(), built, notice, tuple(calls),
                         tuple([*template_warnings, *warnings]))


def request_body(path: Path) -> Body:
    """What is sent for one file (see the module's table)."""
    body = Body.from_file(path)
    if body.content_type == NPY_TYPE:
        request = {"inputs": {"npy": base64.b64encode(body.data).decode()}}
        return Body(json.dumps(request).encode(), JSON_TYPE, body.name)
    if body.content_type == JSON_TYPE:
        try:
            content = json.loads(body.data)
        except ValueError as exc:
            raise UsageError(f"{path} is not valid JSON: {exc}") from None
        if not (isinstance(content, dict) and any(k in content for k in REQUEST_KEYS)):
            content = {"inputs": content}
        return Body(json.dumps(content).encode(), JSON_TYPE, body.name)
    if not body.content_type.startswith("image/"):
        raise UsageError(f"{path}: send an image (.png, .jpg, .gif, .bmp, .webp), a .npy or a "
                         f".json of inputs, not {body.content_type}")
    return body


def host_runtime() -> str:
    """The Lambda runtime of this machine's Python, when lambdalite builds it."""
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return runtime if runtime in BUILDABLE_RUNTIMES else DEFAULT_RUNTIME


def template_for(target: Path, *, variant: str | None = None, backend: Backend = "litert",
                 cache_dir: Path | None = None, progress: progress_.Progress | None = None
                 ) -> tuple[Path, bool]:
    """The template to run for ``target`` (a model folder, ``mnist``, or a template), and
    whether a model folder was built now (False: its cached build, or a template)."""
    if str(target) in EXAMPLES and not target.exists():
        target = EXAMPLES[str(target)]() / "model"
    if target.is_dir() and (target / "manifest.json").is_file():
        arch = host_arch()
        if arch is None:
            raise UsageError("this machine's CPU is neither x86_64 nor arm64: build with "
                             "`lambdalite build` and pass the template")
        template, reused = cached_build(
            target, runtime=host_runtime(), arch=arch, variant=variant, backend=backend,
            cache_dir=cache_dir, progress=progress)
        return template, not reused
    if target.is_file() or (target.is_dir() and any(
            (target / n).is_file() for n in ("template.yaml", "template.yml", "template.json"))):
        return target, False
    raise UsageError(f"{target} is neither a model folder (with manifest.json) nor a SAM "
                     "template: pass the output of `lambdalite convert` or `lambdalite build`")


def _function(template: LocalTemplate, wanted: str | None) -> str:
    names = sorted(template.functions)
    if wanted is None:
        if len(names) != 1:
            raise UsageError(f"{template.path} has {len(names)} functions: name one with "
                             f"--function ({', '.join(names)})")
        return names[0]
    name = template.function_names.get(wanted, wanted)
    if name not in template.functions:
        message = template.broken.get(name)
        raise UsageError(message or f"no function {wanted!r} in {template.path} (it has "
                                    f"{', '.join(names)})")
    return name


def _call(engine: LocalLambda, name: str, trigger: Trigger, path: Path,
          body: Body) -> PredictCall:
    result = engine.invoke(name, trigger.payload(body))
    return PredictCall(path, trigger.reply(result), result)


__all__ = ["MNIST", "PredictCall", "PredictOptions", "PredictResult", "host_runtime",
           "predict", "request_body", "template_for"]
