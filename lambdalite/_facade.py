"""``lambdalite.convert(...)`` and ``lambdalite.bench(...)``: a package named like its API verb.

``lambdalite.convert`` is both the ``convert/`` package and the API call: once any module of
the package is imported, Python sets the package as the attribute ``convert`` of ``lambdalite``
(replacing whatever was there), so the package itself is made callable. Attribute access,
imports and patching by dotted name all keep working on it as on any package.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


def make_callable(package: str, target: str) -> None:
    """Calling the package ``package`` calls ``target`` ("module:function"), imported then."""
    module_name, _, function = target.partition(":")

    class CallablePackage(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return getattr(importlib.import_module(module_name), function)(*args, **kwargs)

    sys.modules[package].__class__ = CallablePackage
