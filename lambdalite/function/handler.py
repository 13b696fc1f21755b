"""The Lambda entry point: ``lambdalite.function.handler.lambda_handler``.

Importing this module is Lambda's INIT phase: configuration from the environment,
manifest and model loaded once (memory-mapped), then reused by every invocation in
this execution environment.
"""

from __future__ import annotations

import os
from typing import Any

# First, for its effect: numpy's BLAS on one thread before anything imports numpy (blas.py)
import lambdalite.function.blas  # noqa: F401  # isort: skip
from lambdalite.function.app import create_app
from lambdalite.function.config import FunctionConfig

app = create_app(FunctionConfig.from_environ(os.environ))


def lambda_handler(event: Any, context: Any) -> Any:
    return app(event, context)
