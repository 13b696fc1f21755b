"""Fixtures for the function's functional tests: a served model folder and real digit images.

``served`` is the MNIST example (lambdalite/examples/mnist: model/ + digits/) when it
exists, else a tiny model built by ``tiny_model.py`` in a child process (needs TensorFlow).
"""

from __future__ import annotations

import base64
import importlib.util
import io
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lambdalite.examples import mnist_example
from lambdalite.function.app import App, create_app
from lambdalite.function.config import FunctionConfig

HERE = Path(__file__).parent
REPO = HERE.parents[2]
MNIST_MODEL = mnist_example() / "model"
MNIST_DIGITS = mnist_example() / "digits"
EVENTS = REPO / "tests" / "events"


@dataclass(frozen=True)
class Sample:
    label: int
    data: bytes              # the file as sent: PNG (or JPEG for some MNIST digits)

    @property
    def jpeg(self) -> bytes:
        buf = io.BytesIO()
        Image.open(io.BytesIO(self.data)).convert("L").save(buf, "JPEG", quality=95)
        return buf.getvalue()

    @property
    def b64(self) -> str:
        return base64.b64encode(self.data).decode()


@dataclass(frozen=True)
class Served:
    model_dir: Path
    samples: list[Sample]
    name: str


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """(dynamic-batch model folder, fixed-batch model folder), built once per session."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("TensorFlow is not installed: cannot build the tiny test model")
    root = tmp_path_factory.mktemp("tiny")
    out, fixed = root / "model", root / "fixed"
    subprocess.run(
        [sys.executable, str(HERE / "tiny_model.py"), str(out), str(fixed)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out, fixed


@pytest.fixture(scope="session")
def served(request) -> Served:
    if (MNIST_MODEL / "manifest.json").exists() and MNIST_DIGITS.is_dir():
        samples = [
            Sample(int(p.name.split("_")[0]), p.read_bytes())
            for p in sorted(MNIST_DIGITS.iterdir())
            # one PNG per digit plus the JPEGs: a batch of all of them stays under the default
            # image cap (LAMBDALITE_MAX_IMAGES=16)
            if p.suffix.lower() in (".jpg", ".jpeg") or p.name.endswith("_0.png")
        ]
        return Served(MNIST_MODEL, samples, "mnist")
    sys.path.insert(0, str(HERE))
    from tiny_model import band_image

    model_dir, _ = request.getfixturevalue("tiny_dirs")
    return Served(model_dir, [Sample(k, _png(band_image(k))) for k in range(10)], "tiny")


class CountingBackend:
    """Wraps a real backend and counts predict calls (proves warm-up runs no inference)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0
        self.input_shape = getattr(inner, "input_shape", None)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.inner.predict(batch)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


@pytest.fixture(scope="session")
def make_app(served) -> Callable[..., App]:
    def make(stream: io.StringIO | None = None, **overrides: Any) -> App:
        config = FunctionConfig(model_dir=overrides.pop("model_dir", served.model_dir), **overrides)
        return create_app(config, stream=stream if stream is not None else io.StringIO())

    return make


@pytest.fixture(scope="session")
def app(make_app) -> App:
    return make_app()


def load_event(name: str, body: str | None = None, **changes: Any) -> dict[str, Any]:
    import json

    event = json.loads((EVENTS / name).read_text())
    if body is not None:
        event["body"] = body
    event.update(changes)
    return event


class Context:
    """The attributes awslambdaric's LambdaContext gives a handler (what the function reads)."""

    def __init__(self, request_id: str = "req-1") -> None:
        self.aws_request_id = request_id
        self.function_name = "lambdalite-test"
        self.memory_limit_in_mb = "1024"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture(name="load_event", scope="session")
def _load_event_fixture() -> Callable[..., dict[str, Any]]:
    return load_event


@pytest.fixture
def context() -> Context:
    return Context()


@pytest.fixture
def counting_app(served) -> tuple[App, CountingBackend, io.StringIO]:
    """A fresh app (cold) whose backend counts calls; its logs and metrics go to the StringIO."""
    from lambdalite.function.backends import load_backend
    from lambdalite.manifest import Manifest

    # No INIT warm-up: the count is of the requests' inferences (test_levers covers the warm-up).
    config = FunctionConfig(model_dir=served.model_dir, warmup=False)
    backend = CountingBackend(load_backend(config, Manifest.load(served.model_dir)))
    out = io.StringIO()
    return create_app(config, backend=backend, stream=out), backend, out
