"""Function configuration: environment variables -> one record.

``FunctionConfig.from_environ`` takes the environment as a mapping so tests pass
a dict; the names live in ``lambdalite.envvars``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from lambdalite import envvars
from lambdalite.errors import UsageError
from lambdalite.function.compat import StrEnum
from lambdalite.lambda_quotas import MB_PER_VCPU, SYNC_PAYLOAD_LIMIT
from lambdalite.records import Record

if TYPE_CHECKING:
    from lambdalite.function.compat import StrPath

DEFAULT_MAX_IMAGES = 16
# Rows of a tensor request: a bound on the work one request can ask for (a 6 MB body of small
# rows could otherwise hold hundreds of thousands); split bigger batches.
DEFAULT_MAX_BATCH = 1024
# 4096 x 4096: a 48 MB RGB array, well inside a small function's memory. Pillow's
# own bomb limit (~89 M pixels, ~270 MB as RGB) would exhaust a 512 MB function.
DEFAULT_MAX_PIXELS = 4096 * 4096
DEFAULT_NAMESPACE = "lambdalite"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_SWITCH = {"on": True, "1": True, "true": True, "yes": True,
           "off": False, "0": False, "false": False, "no": False}
SNAP_START = "snap-start"  # AWS_LAMBDA_INITIALIZATION_TYPE of a SnapStart version's INIT


class BackendName(StrEnum):
    LITERT = "litert"
    TF = "tf"
    ONNXRUNTIME = "onnxruntime"


class FunctionConfig(Record):
    model_dir: StrPath          # a str from the environment; callers may pass a Path
    variant: str | None = None  # None: the manifest's default_variant
    backend: BackendName | None = None  # None: what the variant's file needs (LiteRT, ONNX Runtime)
    num_threads: int = 1
    max_images: int = DEFAULT_MAX_IMAGES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_request_pixels: int | None = None  # None: derived from memory_mb (decode.DecodeLimits)
    memory_mb: int | None = None           # MemorySize; None outside Lambda
    max_batch: int = DEFAULT_MAX_BATCH
    max_payload_bytes: int = SYNC_PAYLOAD_LIMIT
    log_level: str = "INFO"
    metrics_namespace: str = DEFAULT_NAMESPACE
    function_name: str = "local"
    warmup: bool | None = None   # a zeros inference at INIT; None: auto (function.warmup.wanted)
    snap_start: bool = False     # INIT of a SnapStart version (AWS_LAMBDA_INITIALIZATION_TYPE)

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        available_cpus: Callable[[], int] | None = None,
    ) -> FunctionConfig:
        cpus = (available_cpus or available_cpu_count)()
        backend_raw = environ.get(envvars.BACKEND, "").strip().lower()
        try:
            backend = BackendName(backend_raw) if backend_raw else None
        except ValueError:
            raise UsageError(
                f"{envvars.BACKEND}={backend_raw!r} is not a backend; use one of "
                f"{', '.join(b.value for b in BackendName)}"
            ) from None
        level = environ.get(envvars.LOG_LEVEL, "INFO").strip().upper()
        if level not in LOG_LEVELS:
            raise UsageError(f"{envvars.LOG_LEVEL}={level!r}: use one of {', '.join(LOG_LEVELS)}")
        memory = _positive_int(environ, envvars.LAMBDA_MEMORY)
        threads = _positive_int(environ, envvars.NUM_THREADS)
        return cls(
            model_dir=_model_dir(environ),
            variant=environ.get(envvars.VARIANT) or None,
            backend=backend,
            num_threads=threads if threads is not None else default_threads(memory, cpus),
            max_images=_positive_int(environ, envvars.MAX_IMAGES) or DEFAULT_MAX_IMAGES,
            max_pixels=_positive_int(environ, envvars.MAX_PIXELS) or DEFAULT_MAX_PIXELS,
            max_request_pixels=_positive_int(environ, envvars.MAX_REQUEST_PIXELS),
            memory_mb=memory,
            max_batch=_positive_int(environ, envvars.MAX_BATCH) or DEFAULT_MAX_BATCH,
            log_level=level,
            metrics_namespace=environ.get(envvars.METRICS_NAMESPACE) or DEFAULT_NAMESPACE,
            function_name=environ.get(envvars.LAMBDA_FUNCTION_NAME) or "local",
            warmup=_switch(environ, envvars.WARMUP),
            snap_start=environ.get(envvars.LAMBDA_INITIALIZATION_TYPE) == SNAP_START,
        )


def default_threads(memory_mb: int | None, available_cpus: int) -> int:
    """What the function's memory buys (1 vCPU per 1769 MB), at least 1, at most the CPUs we have.

    Without a memory size (outside Lambda) use every CPU available to this process.
    """
    cap = max(1, available_cpus)
    if memory_mb is None:
        return cap
    return max(1, min(cap, round(memory_mb / MB_PER_VCPU)))


def available_cpu_count() -> int:
    # sched_getaffinity honours taskset/cpusets; os.cpu_count() would count the host's CPUs.
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _model_dir(environ: Mapping[str, str]) -> str:
    explicit = environ.get(envvars.MODEL_DIR)
    if explicit:
        return explicit
    task_root = environ.get(envvars.LAMBDA_TASK_ROOT) or os.getcwd()
    return os.path.join(task_root, "model")


def _switch(environ: Mapping[str, str], name: str) -> bool | None:
    """on / off, or None for auto (unset, empty or "auto")."""
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "auto"):
        return None
    if raw not in _SWITCH:
        raise UsageError(f"{name}={raw!r}: use on, off or auto")
    return _SWITCH[raw]


def _positive_int(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not an integer") from None
    if value < 1:
        raise UsageError(f"{name}={raw!r} must be at least 1")
    return value
