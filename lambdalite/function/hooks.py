"""User code around the model: the manifest's ``hooks`` module, imported once at INIT.

A model folder may carry a Python file (``hooks: {"module": "hooks.py", "requirements":
[...]}`` in the manifest) defining any of:

    setup(model_dir: Path) -> None                       once, at INIT
    preprocess(request: HookRequest) -> Mapping[str, np.ndarray]
        replaces decoding/preprocessing: returns the model's inputs by name (checked
        against the manifest like a client's tensors; a mismatch is a HookError, 500)
    postprocess(outputs: Mapping[str, np.ndarray], request: HookRequest) -> Any
        replaces the built-in answer; returns what JSON can hold (numpy arrays and
        scalars are turned into lists and numbers)

An exception from a hook is logged with its traceback and answered as a function error of
its own class (errorType = its name; a 500 for HTTP events); a ``ClientError`` subclass
(``lambdalite.errors``) is answered with its own 4xx status. Without a hooks entry nothing
is imported. docs/FUNCTION.md has the whole contract.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from lambdalite.errors import ModelError
from lambdalite.records import Record

if TYPE_CHECKING:
    from pathlib import Path

    from lambdalite.function.compat import StrPath

# The module's name in sys.modules: fixed, so a hook's own pickling/dataclasses work and a
# test can tell that nothing was imported.
MODULE_NAME = "lambdalite_model_hooks"
HOOK_NAMES = ("setup", "preprocess", "postprocess")


class HookRequest(Record):
    """What a hook sees of one request (already checked against the function's limits)."""

    images: tuple[Image.Image, ...] = ()           # decoded "image"/"images"/raw body, in order
    tensors: Mapping[str, np.ndarray] = MappingProxyType({})  # "inputs", checked
    body: Mapping[str, Any] | None = None           # the JSON object sent, None for a raw body
    top_k: int | None = None
    batch: bool = False                             # the caller sent a list: answer a list
    event: str = "direct"                           # EventKind value: direct, apigateway-rest ...


class LoadedHooks(Record):
    path: str
    setup: Callable[[Path], None] | None = None
    preprocess: Callable[[HookRequest], Mapping[str, np.ndarray]] | None = None
    postprocess: Callable[[Mapping[str, np.ndarray], HookRequest], Any] | None = None

    def names(self) -> list[str]:
        return [n for n in HOOK_NAMES if getattr(self, n) is not None]


def load_hooks(model_dir: StrPath, module: str) -> LoadedHooks:
    """Import ``model_dir/module`` by file path (exceptions from the import propagate as
    they are: the caller logs them with the traceback)."""
    if os.path.basename(module) != module or not module.endswith(".py"):
        raise ModelError(f"the manifest's hooks module {module!r} must be a .py file name in the "
                         "model folder (no path); re-create the folder with `lambdalite convert`")
    path = os.path.join(model_dir, module)
    if not os.path.isfile(path):
        raise ModelError(
            f"the manifest names hooks module {module!r} but {path} is missing; rebuild the "
            "package (lambdalite build copies it with the model)"
        )
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"{path} cannot be imported as a Python module")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        sys.modules.pop(MODULE_NAME, None)
        raise
    return LoadedHooks(path, **{n: _callable(loaded, n) for n in HOOK_NAMES})


def _callable(module: ModuleType, name: str) -> Any:
    value = getattr(module, name, None)
    if value is not None and not callable(value):
        raise ModelError(f"{module.__file__}: {name} is a {type(value).__name__}, not a function")
    return value


def jsonable(value: Any) -> Any:
    """``json.dumps`` default for what a postprocess hook may return besides plain types."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
