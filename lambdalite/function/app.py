"""The function as an object: INIT state (manifest, backend, hooks, logger) and the per-request
chain.

    parse event -> decode images -> parse tensors -> preprocess (built in, or the hook)
        -> infer (backend) -> answer (built in, or the hook) -> response

``create_app(config)`` does what Lambda's INIT phase does (load the manifest, the model and
the manifest's hooks once); calling the app is one invocation. ``handler.py`` builds one app
at module scope from the environment; tests build theirs from an explicit config.
"""

from __future__ import annotations

import io
import json
import time
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
from PIL import Image

from lambdalite.errors import ClientError, LambdaliteError
from lambdalite.function import response
from lambdalite.function.backends import Backend, load_backend
from lambdalite.function.backends.base import chosen_variant
from lambdalite.function.config import BackendName, FunctionConfig
from lambdalite.function.decode import decode_images, limits_for, load_plugins
from lambdalite.function.errors import HookError, InvalidInput, InvalidRequest
from lambdalite.function.events import Limits, Request, classify, parse
from lambdalite.function.observability import COUNT, MILLISECONDS, JsonLogger, MetricsSink
from lambdalite.function.preprocess import check_input_shape, preprocess
from lambdalite.function.tensors import (
    TensorLimits,
    check,
    check_batch,
    describe_inputs,
    parse_inputs,
)
from lambdalite.function.warmup import (
    model_bytes,
    register_snapstart,
    rehearsal_event,
    wanted,
    warm_up,
)
from lambdalite.manifest import Manifest

if TYPE_CHECKING:
    from lambdalite.function.hooks import HookRequest, LoadedHooks

Clock = Callable[[], float]


class HookFailed(Exception):
    """Carries a hook's own exception (not a LambdaliteError) to the one place that answers."""

    def __init__(self, hook: str, original: BaseException) -> None:
        super().__init__(f"{hook} hook raised {type(original).__name__}: {original}")
        self.hook = hook
        self.original = original


class App:
    def __init__(
        self,
        config: FunctionConfig,
        manifest: Manifest,
        backend: Backend,
        logger: JsonLogger,
        metrics: MetricsSink,
        clock: Clock = time.perf_counter,
        hooks: LoadedHooks | None = None,
    ) -> None:
        self.config = config
        self.manifest = manifest
        self.backend = backend
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
        self.hooks = hooks
        self.limits = Limits(config.max_images, config.max_payload_bytes)
        self.tensor_limits = TensorLimits(config.max_batch, config.max_payload_bytes)
        self.decode_limits = limits_for(config, manifest.preprocessing)   # after the model loaded
        self.cold = True

    def __call__(self, event: Any, context: Any = None) -> Any:
        """One invocation. Client mistakes: HTTP events get 4xx, direct invocations raise."""
        cold, self.cold = self.cold, False
        kind = classify(event)
        self.logger.bind(
            request_id=getattr(context, "aws_request_id", None), cold_start=cold, event=kind.value
        )
        measured: dict[str, tuple[float, str]] = {"ColdStart": (1, COUNT)} if cold else {}
        try:
            open_json = self.hooks is not None and self.hooks.preprocess is not None
            request = parse(event, self.limits, open_json=open_json)
            if request.warmup:
                self.logger.info("warm-up: no inference")
                return response.warmup(kind)
            return self._infer(request, measured)
        except LambdaliteError as exc:
            client = isinstance(exc, ClientError)
            measured["ClientErrors" if client else "Errors"] = (1, COUNT)
            self.logger.log(
                "WARNING" if client else "ERROR",
                "request rejected" if client else "request failed",
                status=exc.status,
                error_type=exc.error_type,
                error=exc.message,
            )
            if kind.is_http:
                return response.error(exc)
            raise
        except HookFailed as failed:
            measured["Errors"] = (1, COUNT)
            original = failed.original
            self.logger.error(
                "hook failed",
                hook=failed.hook,
                status=500,
                error_type=type(original).__name__,
                error=str(original),
                traceback="".join(traceback.format_exception(original)),
            )
            if kind.is_http:
                return response.failure(original)
            raise original from None
        finally:
            if measured:
                self.metrics.emit(measured, {"event": kind.value, "backend": self.backend.name})

    def _infer(self, request: Request, measured: dict[str, tuple[float, str]]) -> Any:
        postprocess = self.hooks.postprocess if self.hooks is not None else None
        if request.top_k and postprocess is None:
            self._check_top_k()
        t0 = self.clock()
        images = decode_images(request.images, self.decode_limits)
        tensors = (
            parse_inputs(request.inputs, self.manifest.inputs, self.tensor_limits)
            if request.inputs is not None else {}
        )
        hook_request = (self._hook_request(request, images, tensors) if self.hooks is not None
                        else None)
        if self.hooks is not None and self.hooks.preprocess is not None:
            inputs = self._hook_inputs(self._call_hook("preprocess", hook_request))
        else:
            inputs = self._model_inputs(images, tensors)
        rows = check_batch(inputs, self.manifest.inputs,
                           HookError if self.hooks and self.hooks.preprocess else InvalidInput)
        t1 = self.clock()
        outputs = self.backend.predict(inputs)
        t2 = self.clock()
        if postprocess is not None:
            body = _json_ready(self._call_hook("postprocess", outputs, hook_request))
        else:
            body = response.answer(outputs, self.manifest.outputs, request.top_k, request.batch)
        pre_ms, inf_ms = (t1 - t0) * 1000.0, (t2 - t1) * 1000.0
        measured["PreprocessingLatency"] = (round(pre_ms, 3), MILLISECONDS)
        measured["InferenceLatency"] = (round(inf_ms, 3), MILLISECONDS)
        measured["Images"] = (len(images), COUNT)
        facts: dict[str, Any] = {"images": len(images), "rows": rows}
        if postprocess is None and self.manifest.classifier_output is not None:
            shown = body.get("predictions", [body])[:16]
            facts["predicted"] = [p["predicted_label"] for p in shown]
        self.logger.info(
            "prediction", **facts, preprocessing_ms=round(pre_ms, 3), inference_ms=round(inf_ms, 3)
        )
        return response.reply(request.kind, body)

    def rehearse(self, event: Any) -> None:
        """The request chain once on ``event`` (the warm-up's generated request): its answer is
        dropped and its log lines go to nowhere; nothing is counted and the next request is
        still the cold start."""
        logger, self.logger = self.logger, JsonLogger(self.config.log_level, io.StringIO())
        try:
            self._infer(parse(event, self.limits), {})
        finally:
            self.logger = logger

    # ---- the built-in steps -------------------------------------------------
    def _model_inputs(
        self, images: list[Image.Image], tensors: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Images into the image input (preprocessed as the manifest says), tensors by name."""
        inputs = dict(tensors)
        if images:
            image = self.manifest.image_input
            if image is None or image.preprocessing is None:
                raise InvalidRequest(
                    'this model takes no image: send its tensors as {"inputs": ...} '
                    f"({describe_inputs(self.manifest.inputs)})"
                )
            if image.name in inputs:
                raise InvalidInput(
                    f"the image input {image.name} was sent twice: as an image and in "
                    '"inputs"; send one'
                )
            batch = preprocess(images, image.preprocessing)
            # from_json: an integer image input takes the (integral) pixels themselves
            inputs[image.name] = check(batch, image, f"the image input {image.name}",
                                       max(self.config.max_images, len(images)), from_json=True)
        missing = [i.name for i in self.manifest.inputs if i.name not in inputs]
        if missing:
            raise InvalidInput(
                f"missing input {', '.join(missing)}: the model takes "
                f"{describe_inputs(self.manifest.inputs)}; send each in \"inputs\""
                + (' (the image input also as "image"/"images")'
                   if self.manifest.image_input is not None else "")
            )
        return inputs

    def _check_top_k(self) -> None:
        if not any(o.kind in ("classes", "scores") for o in self.manifest.outputs):
            raise InvalidRequest(
                "top_k ranks a classes or scores output, and this model has none "
                f"(outputs: {', '.join(f'{o.name} ({o.kind})' for o in self.manifest.outputs)})"
            )

    # ---- hooks --------------------------------------------------------------
    @staticmethod
    def _hook_request(request: Request, images: list[Image.Image],
                      tensors: Mapping[str, np.ndarray]) -> HookRequest:
        # Deferred: hooks.py is imported (at INIT) only for a model that declares hooks.
        from lambdalite.function.hooks import HookRequest

        return HookRequest(tuple(images), tensors, request.body, request.top_k, request.batch,
                           request.kind.value)

    def _call_hook(self, name: str, *args: Any) -> Any:
        hook = getattr(self.hooks, name)
        try:
            return hook(*args)
        except LambdaliteError:
            raise  # a ClientError subclass -> its 4xx; ours -> their status
        except Exception as exc:
            raise HookFailed(name, exc) from exc

    def _hook_inputs(self, returned: Any) -> dict[str, np.ndarray]:
        """What preprocess returned, checked like a client's tensors (its mistakes are 500s)."""
        if not isinstance(returned, Mapping):
            raise HookError(
                f"the preprocess hook returned {type(returned).__name__}; it must return the "
                f"model's inputs by name ({describe_inputs(self.manifest.inputs)})"
            )
        names = {i.name for i in self.manifest.inputs}
        wrong = sorted(set(map(str, returned)) ^ names)
        if wrong:
            raise HookError(
                f"the preprocess hook returned inputs {sorted(map(str, returned))}; the model "
                f"takes {describe_inputs(self.manifest.inputs)}"
            )
        return {
            spec.name: check(np.asarray(returned[spec.name]), spec,
                             f"the preprocess hook's {spec.name}", self.config.max_batch,
                             from_json=True, error=HookError)
            for spec in self.manifest.inputs
        }


def _json_ready(body: Any) -> Any:
    """What the postprocess hook returned, as plain JSON types (HookError when it cannot be)."""
    try:
        from lambdalite.function.hooks import jsonable  # loaded at INIT with the hooks

        return json.loads(json.dumps(body, default=jsonable, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise HookError(
            f"the postprocess hook returned what JSON cannot hold ({exc}); return dicts, "
            "lists, strings, finite numbers, booleans or None"
        ) from None


def create_app(
    config: FunctionConfig,
    *,
    backend: Backend | None = None,
    stream: TextIO | None = None,
    clock: Clock = time.perf_counter,
) -> App:
    """INIT: load the manifest, the model and the hooks once. ``backend`` replaces the
    configured one."""
    started = clock()
    logger = JsonLogger(
        config.log_level, stream, service="lambdalite", function=config.function_name
    )
    manifest = Manifest.load(config.model_dir)
    if backend is None:
        backend = load_backend(config, manifest)
    cache_note = str(getattr(backend, "weight_cache", None) or "")
    if cache_note.startswith("ignored"):
        logger.warning("XNNPACK weight cache not used; the Interpreter packs the weights",
                       reason=cache_note.removeprefix("ignored: "))
    shapes: dict[str, list[int]] = getattr(backend, "input_shapes", None) or {}
    for spec in manifest.inputs:
        if spec.kind == "image" and spec.preprocessing is not None:
            check_input_shape(spec.preprocessing, shapes.get(spec.name, spec.shape))
    hooks = _init_hooks(config, manifest, logger)
    variant = "tf" if config.backend is BackendName.TF else chosen_variant(config, manifest).name
    metrics = MetricsSink(
        config.metrics_namespace, {"FunctionName": config.function_name, "Variant": variant}, stream
    )
    app = App(config, manifest, backend, logger, metrics, clock, hooks)
    warmup = _init_warmup(app, clock)
    # The decode budget from what INIT leaves in use, the warm-up's allocations included.
    app.decode_limits = limits_for(config, manifest.preprocessing)
    logger.info(
        "init",
        model_name=manifest.model.name,
        variant=variant,
        model_dir=str(config.model_dir),
        hooks=hooks.names() if hooks is not None else None,
        init_ms=round((clock() - started) * 1000.0, 3),
        **warmup,
        **backend.describe(),
    )
    return app


def _init_warmup(app: App, clock: Clock) -> dict[str, Any]:
    """The warm-up now, at SnapStart's before-snapshot, or not: the INIT line's fields
    (``warmup_path``: ``request``, the whole chain on a generated request, or ``model``)."""
    config, manifest, backend, logger = app.config, app.manifest, app.backend, app.logger
    on, why = wanted(config.warmup, config.snap_start, model_bytes(backend))
    event = rehearsal_event(manifest) if on else None
    rehearse = (lambda: app.rehearse(event)) if event is not None else None
    path = {"warmup_path": "request" if event is not None else "model"} if on else {}

    def run() -> float | None:
        return warm_up(backend, manifest.inputs, logger, clock, rehearse)

    def before_snapshot() -> None:
        load_plugins()   # every accepted format's Pillow plugin: the snapshot keeps them
        if on:
            logger.info("before snapshot", warmup_ms=run(), **path)

    if config.snap_start and register_snapstart(before_snapshot, logger):
        return {"warmup": f"{'before snapshot' if on else 'off'} ({why})", "warmup_ms": None,
                **path}
    return {"warmup": f"{'on' if on else 'off'} ({why})", "warmup_ms": run() if on else None,
            **path}


def _init_hooks(config: FunctionConfig, manifest: Manifest, logger: JsonLogger
                ) -> LoadedHooks | None:
    """Import the manifest's hooks module and run its setup; a failure is logged with its
    traceback and fails INIT with the hook's own exception."""
    if manifest.hooks is None:
        return None  # no hook, no import
    # Hook code may open images itself: every accepted format's Pillow plugin first, as
    # Image.open has them without this function (which registers only PNG's at INIT).
    load_plugins()
    try:
        from lambdalite.function.hooks import load_hooks

        hooks = load_hooks(config.model_dir, manifest.hooks.module)
        if hooks.setup is not None:
            from pathlib import Path  # the documented argument; the function itself uses os.path

            hooks.setup(Path(config.model_dir))
    except Exception as exc:
        logger.error(
            "hook setup failed",
            hook=manifest.hooks.module,
            error_type=type(exc).__name__,
            error=str(exc),
            traceback="".join(traceback.format_exception(exc)),
        )
        raise
    return hooks
