"""lambdalite: TensorFlow model -> small, fast AWS Lambda inference function.

The Python API, the same path the CLI takes (each command maps its flags onto one call)::

    import lambdalite
    from pathlib import Path

    lambdalite.convert(lambdalite.ConvertOptions(model=Path("saved_model"), out=Path("model")))
    outcome = lambdalite.build(lambdalite.BuildOptions(model_dir=Path("model"),
                                                       archs=("x86_64", "arm64")))
    with lambdalite.LocalLambda.from_template(outcome.template) as engine:
        print(engine.invoke("InferenceFunction", b'{"image": "..."}').payload)
    answers = lambdalite.predict(lambdalite.PredictOptions(target=Path("model"),
                                                           files=(Path("digit.png"),)))
    result = lambdalite.bench(lambdalite.BenchOptions(model=Path("model"), quick=True))
    remote = lambdalite.bench_remote(lambdalite.RemoteOptions(function="my-function"))

Every long job takes ``progress=`` (``lambdalite.progress``). This module stays import-light
on purpose: the Lambda function package ships ``lambdalite/__init__.py`` and must not pull in
the CLI's dependencies, so every name is imported on first use (``__getattr__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it.
_EXPORTS: dict[str, str] = {
    "convert": "lambdalite.conversion.pipeline",
    "ConvertOptions": "lambdalite.conversion.plan",
    "ConversionPlan": "lambdalite.conversion.plan",
    "ConvertResult": "lambdalite.conversion.execute",
    "evaluate": "lambdalite.conversion.pipeline",
    "EvaluateOptions": "lambdalite.conversion.pipeline",
    "EvaluateResult": "lambdalite.conversion.pipeline",
    "EvaluationReport": "lambdalite.conversion.evaluate",
    "build": "lambdalite.bundle.builds",
    "BuildOptions": "lambdalite.bundle.options",
    "BuildOutcome": "lambdalite.bundle.builds",
    "PackageOutcome": "lambdalite.bundle.builds",
    "BuildResult": "lambdalite.bundle.api",
    "LocalLambda": "lambdalite.local.engine",
    "FunctionSpec": "lambdalite.local.engine_types",
    "InvokeResult": "lambdalite.local.engine_types",
    "predict": "lambdalite.prediction.api",
    "PredictOptions": "lambdalite.prediction.api",
    "PredictResult": "lambdalite.prediction.api",
    "bench": "lambdalite.benchmark.runner",
    "BenchOptions": "lambdalite.benchmark.config",
    "BenchResult": "lambdalite.benchmark.results",
    "bench_remote": "lambdalite.benchmark.remote",
    "RemoteOptions": "lambdalite.benchmark.remote",
    "RemoteResult": "lambdalite.benchmark.remote",
    "Progress": "lambdalite.progress",
    "Callback": "lambdalite.progress",
    "LambdaliteError": "lambdalite.errors",
    "OptionError": "lambdalite.errors",
}

__all__ = [
    "BenchOptions", "BenchResult", "BuildOptions", "BuildOutcome", "BuildResult", "Callback",
    "ConversionPlan", "ConvertOptions", "ConvertResult", "EvaluateOptions", "EvaluateResult",
    "EvaluationReport", "FunctionSpec", "InvokeResult", "LambdaliteError", "LocalLambda",
    "OptionError", "PackageOutcome", "PredictOptions", "PredictResult", "Progress",
    "RemoteOptions", "RemoteResult", "__version__", "bench", "bench_remote", "build",
    "convert", "evaluate", "predict",
]

if TYPE_CHECKING:  # what type checkers and editors see; at run time, __getattr__ below
    from lambdalite.benchmark.config import BenchOptions
    from lambdalite.benchmark.remote import RemoteOptions, RemoteResult, bench_remote
    from lambdalite.benchmark.results import BenchResult
    from lambdalite.benchmark.runner import bench
    from lambdalite.bundle.api import BuildResult
    from lambdalite.bundle.builds import BuildOutcome, PackageOutcome, build
    from lambdalite.bundle.options import BuildOptions
    from lambdalite.conversion.evaluate import EvaluationReport
    from lambdalite.conversion.execute import ConvertResult
    from lambdalite.conversion.pipeline import EvaluateOptions, EvaluateResult, convert, evaluate
    from lambdalite.conversion.plan import ConversionPlan, ConvertOptions
    from lambdalite.errors import LambdaliteError, OptionError
    from lambdalite.local.engine import LocalLambda
    from lambdalite.local.engine_types import FunctionSpec, InvokeResult
    from lambdalite.prediction.api import PredictOptions, PredictResult, predict
    from lambdalite.progress import Callback, Progress


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lambdalite' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    value = getattr(loaded, name)
    globals()[name] = value  # once: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
