"""Importing TensorFlow through import_tensorflow() leaves stderr clean (CPU-only machine)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.tf

SCRIPT = """
import os
from lambdalite.function.backends.tf import import_tensorflow
tf = import_tensorflow()
print(int(tf.reduce_sum(tf.constant([1, 2]))), os.environ["TF_CPP_MIN_LOG_LEVEL"])
"""


def test_tensorflow_start_up_is_quiet() -> None:
    pytest.importorskip("tensorflow")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["3", "2"]
    assert proc.stderr == ""
