"""The imports-only floor: INIT imports what the function's INIT imports before it loads a
model (numpy, PIL.Image and the backend's runtime), the way the function imports them (numpy's
BLAS on one thread: ``function/blas.py``), and nothing else; each call returns 1.

The backend comes from LAMBDALITE_BACKEND, as the function reads it: ``litert`` (default)
imports ``ai_edge_litert.interpreter``, ``tf`` imports TensorFlow the way the tf backend does,
``onnxruntime`` imports onnxruntime.
"""

import os
from typing import Any

# First, as in the function's handler: numpy's BLAS on one thread (lambdalite/function/blas.py)
import lambdalite.function.blas  # noqa: F401  # isort: skip
import numpy  # noqa: F401 - the point is the import
from PIL import Image  # noqa: F401

from lambdalite import envvars

_BACKEND = os.environ.get(envvars.BACKEND, "litert")
if _BACKEND == "tf":
    from lambdalite.function.backends.tf import import_tensorflow

    import_tensorflow()
elif _BACKEND == "onnxruntime":
    # The backend module imports onnxruntime (and only the shared modules the function's INIT
    # imports anyway): the import rule keeps onnxruntime's import there.
    import lambdalite.function.backends.onnxruntime  # noqa: F401
else:
    import ai_edge_litert.interpreter  # noqa: F401


def handler(event: Any, context: Any) -> int:
    return 1
