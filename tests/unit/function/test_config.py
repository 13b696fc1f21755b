
import pytest

from lambdalite import envvars
from lambdalite.errors import UsageError
from lambdalite.function.config import (
    DEFAULT_MAX_IMAGES,
    BackendName,
    FunctionConfig,
    default_threads,
)


def cpus(n):
    return lambda: n


def test_defaults_follow_lambda_task_root():
    cfg = FunctionConfig.from_environ({"LAMBDA_TASK_ROOT": "/var/task"}, cpus(2))
    assert cfg.model_dir == "/var/task/model"
    assert cfg.backend is None  # unset: the backend the variant's file needs
    assert cfg.variant is None
    assert cfg.max_images == DEFAULT_MAX_IMAGES
    assert cfg.num_threads == 2  # no memory size: every CPU we have


def test_every_variable_is_read():
    env = {
        envvars.MODEL_DIR: "/opt/m",
        envvars.VARIANT: "int8",
        envvars.BACKEND: "TF",
        envvars.NUM_THREADS: "3",
        envvars.MAX_IMAGES: "4",
        envvars.MAX_PIXELS: "1000",
        envvars.LOG_LEVEL: "debug",
        envvars.METRICS_NAMESPACE: "ns",
        envvars.LAMBDA_FUNCTION_NAME: "fn",
    }
    cfg = FunctionConfig.from_environ(env, cpus(1))
    assert (cfg.model_dir, cfg.variant, cfg.backend) == ("/opt/m", "int8", BackendName.TF)
    assert (cfg.num_threads, cfg.max_images, cfg.max_pixels) == (3, 4, 1000)
    assert (cfg.log_level, cfg.metrics_namespace, cfg.function_name) == ("DEBUG", "ns", "fn")


@pytest.mark.parametrize(
    ("memory", "available", "expected"),
    [
        (128, 4, 1),
        (1769, 4, 1),
        (3008, 4, 2),
        (5307, 4, 3),
        (10240, 4, 4),
        (10240, 2, 2),
        (10240, 8, 6),
        (None, 3, 3),
    ],
)
def test_threads_follow_memory_and_available_cpus(memory, available, expected):
    assert default_threads(memory, available) == expected
    env = {envvars.LAMBDA_MEMORY: str(memory)} if memory else {}
    assert FunctionConfig.from_environ(env, cpus(available)).num_threads == expected


@pytest.mark.parametrize(
    "env",
    [
        {envvars.BACKEND: "onnx"},
        {envvars.NUM_THREADS: "0"},
        {envvars.MAX_IMAGES: "many"},
        {envvars.LOG_LEVEL: "LOUD"},
    ],
)
def test_bad_values_say_which_variable(env):
    with pytest.raises(UsageError, match=next(iter(env))):
        FunctionConfig.from_environ(env, cpus(1))


def test_the_request_pixel_budget_and_memory_size_come_from_the_environment():
    cfg = FunctionConfig.from_environ({envvars.MAX_REQUEST_PIXELS: "123456",
                                       envvars.LAMBDA_MEMORY: "512"}, available_cpus=lambda: 2)
    assert (cfg.max_request_pixels, cfg.memory_mb) == (123456, 512)
    default = FunctionConfig.from_environ({}, available_cpus=lambda: 2)
    assert (default.max_request_pixels, default.memory_mb) == (None, None)


def test_onnxruntime_is_a_backend_and_a_wrong_name_lists_them():
    env = {"LAMBDALITE_BACKEND": " OnnxRuntime "}
    assert FunctionConfig.from_environ(env, cpus(1)).backend is BackendName.ONNXRUNTIME
    with pytest.raises(UsageError, match="litert, tf, onnxruntime"):
        FunctionConfig.from_environ({"LAMBDALITE_BACKEND": "onnx"}, cpus(1))
