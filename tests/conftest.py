"""Fixtures shared by every tier. Component fixtures live in tests/<tier>/<component>/conftest.py."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from lambdalite.examples import mnist_example

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "tests" / "events"
HANDLER_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "handlers"
MNIST_EXAMPLE = mnist_example()       # lambdalite/examples/mnist, found as the package finds it
MNIST_MODEL_DIR = MNIST_EXAMPLE / "model"

# Keep TensorFlow quiet and single-process friendly in every subprocess the tests start.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# What a whole run writes at its peak, measured on a fresh clone (2026-12-02): 6.2 GB under
# pytest's base folder (the builds fixtures keep until their module or the session ends, and
# the running test's own), 4.2 GB in ~/.cache/lambdalite (the large model, its variants, the
# arm64 userland). Short of it, builds fail with errors that do not say why (no space left).
DISK_NEEDED_GB = 11


def pytest_report_header(config: pytest.Config) -> str:
    base = Path(tempfile.gettempdir())  # where pytest puts its tmp_path folders
    free_gb = shutil.disk_usage(base).free / 2**30
    line = f"disk: {free_gb:.1f} GB free under {base}"
    if free_gb < DISK_NEEDED_GB:
        line += (f"; WARNING: the whole suite needs about {DISK_NEEDED_GB} GB: free some space "
                 "or set TMPDIR to a larger disk, or build tests fail when the disk fills")
    return line


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def mnist_model_dir() -> Path:
    """The committed MNIST model folder (manifest + .tflite variants + TF model)."""
    if not (MNIST_MODEL_DIR / "manifest.json").exists():
        pytest.fail("lambdalite/examples/mnist/model/manifest.json is missing: run `lambdalite train` first")
    return MNIST_MODEL_DIR


class Dap:
    """A minimal Debug Adapter Protocol client: Content-Length framed JSON over TCP."""

    def __init__(self, port: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.file = self.sock.makefile("rb")
        self.seq = 0
        self.seen: list[dict[str, Any]] = []

    def send(self, command: str, **arguments: Any) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command,
                           "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def _read(self) -> dict[str, Any]:
        length = 0
        while (line := self.file.readline().strip()):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        message: dict[str, Any] = json.loads(self.file.read(length))
        self.seen.append(message)
        return message

    def wait(self, kind: str, name: str, seq: int | None = None) -> dict[str, Any]:
        """The event ``name``, or the response to ``name`` (request ``seq``)."""
        key = "event" if kind == "event" else "command"
        for message in self.seen:
            if message["type"] == kind and message.get(key) == name and (
                    seq is None or message.get("request_seq") == seq):
                self.seen.remove(message)
                return message
        while True:
            message = self._read()
            if message["type"] == kind and message.get(key) == name and (
                    seq is None or message.get("request_seq") == seq):
                self.seen.remove(message)
                return message

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        response = self.wait("response", command, self.send(command, **arguments))
        assert response["success"], response
        return response

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture(scope="session")
def dap_client() -> type[Dap]:
    """``dap_client(port)``: a Debug Adapter Protocol client connected to debugpy (retrying
    until the debuggee listens), for the tests of ``--debug-port``."""
    return Dap


@pytest.fixture(scope="session")
def mnist_onnx_dir(mnist_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The MNIST SavedModel converted with ``--onnx`` (float32.tflite, model.onnx and its
    dynamic twin), once per session: needs TensorFlow, tf2onnx and onnxruntime."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    from lambdalite.conversion.pipeline import convert
    from lambdalite.conversion.plan import ConvertOptions

    out = tmp_path_factory.mktemp("mnist-onnx")
    convert(ConvertOptions(model=mnist_model_dir / "saved_model", out=out,
                           variants=("float32",), onnx=True, labels=tuple("0123456789")))
    return out
