"""The function as an object: INIT state (manifest, backend, logger) and the per-request chain.

    parse event -> decode -> preprocess -> infer (backend) -> predictions -> response

``create_app(config)`` does what Lambda's INIT phase does (load the manifest and the
model once); calling the app is one invocation. ``handler.py`` builds one app at
module scope from the environment; tests build theirs from an explicit config.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from lambdalite.errors import ClientError, LambdaliteError
from lambdalite.function import response
from lambdalite.function.backends import Backend, load_backend
from lambdalite.function.config import BackendName, FunctionConfig
from lambdalite.function.decode import decode_images, limits_for
from lambdalite.function.events import Limits, Request, classify, parse
from lambdalite.function.observability import COUNT, MILLISECONDS, JsonLogger, MetricsSink
from lambdalite.function.predictions import effective_labels, predict_labels
from lambdalite.function.preprocess import check_input_shape, preprocess
from lambdalite.manifest import Manifest

Clock = Callable[[], float]


class App:
    def __init__(
        self,
        config: FunctionConfig,
        manifest: Manifest,
        backend: Backend,
        logger: JsonLogger,
        metrics: MetricsSink,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.config = config
        self.manifest = manifest
        self.backend = backend
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
        self.labels = effective_labels(manifest.model.labels)
        self.limits = Limits(config.max_images, config.max_payload_bytes)
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
            request = parse(event, self.limits)
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
        finally:
            if measured:
                self.metrics.emit(measured, {"event": kind.value, "backend": self.backend.name})

    def _infer(self, request: Request, measured: dict[str, tuple[float, str]]) -> Any:
        t0 = self.clock()
        images = decode_images(request.images, self.decode_limits)
        batch = preprocess(images, self.manifest.preprocessing)
        t1 = self.clock()
        outputs = self.backend.predict(batch)
        t2 = self.clock()
        predictions = predict_labels(
            outputs,
            activation=self.manifest.model.output_activation,
            labels=self.labels,
            top_k=request.top_k,
        )
        pre_ms, inf_ms = (t1 - t0) * 1000.0, (t2 - t1) * 1000.0
        measured["PreprocessingLatency"] = (round(pre_ms, 3), MILLISECONDS)
        measured["InferenceLatency"] = (round(inf_ms, 3), MILLISECONDS)
        measured["Images"] = (len(images), COUNT)
        self.logger.info(
            "prediction",
            images=len(images),
            predicted=[p.index for p in predictions[:16]],
            preprocessing_ms=round(pre_ms, 3),
            inference_ms=round(inf_ms, 3),
        )
        return response.ok(request.kind, predictions, request.batch)


def create_app(
    config: FunctionConfig,
    *,
    backend: Backend | None = None,
    stream: TextIO | None = None,
    clock: Clock = time.perf_counter,
) -> App:
    """INIT: load the manifest and the model once. ``backend`` replaces the configured one."""
    started = clock()
    logger = JsonLogger(
        config.log_level, stream, service="lambdalite", function=config.function_name
    )
    manifest = Manifest.load(config.model_dir)
    if backend is None:
        backend = load_backend(config, manifest)
    check_input_shape(manifest.preprocessing, _input_shape(backend, manifest, config))
    variant = "tf" if config.backend is BackendName.TF else manifest.variant(config.variant).name
    metrics = MetricsSink(
        config.metrics_namespace, {"FunctionName": config.function_name, "Variant": variant}, stream
    )
    logger.info(
        "init",
        model_name=manifest.model.name,
        variant=variant,
        model_dir=str(config.model_dir),
        init_ms=round((clock() - started) * 1000.0, 3),
        **backend.describe(),
    )
    return App(config, manifest, backend, logger, metrics, clock)


def _input_shape(backend: Backend, manifest: Manifest, config: FunctionConfig) -> list[int]:
    shape = getattr(backend, "input_shape", None)
    if shape is not None:
        return list(shape)
    spec = manifest.variant(config.variant).inputs
    return list(spec[0].shape)
