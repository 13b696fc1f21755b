"""A `lambdalite local start-*` (or `lambdalite playground`) subprocess for the e2e tests of
the local loop: its stderr collected by a thread, its URLs read from what it prints."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


class ServerProcess:
    def __init__(self, *args: str, cwd: Path = REPO) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "lambdalite", *args], cwd=cwd,
                                        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = self.wait_for(r"serving .* on (http://\S+)").group(1)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout_s: float = 60, after: int = 0) -> re.Match[str]:
        """The first line (from line ``after`` on) matching ``pattern``, waiting for it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if found := re.search(pattern, line):
                    return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r}:\n" + "\n".join(self.lines))

    def stop(self, signum: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        self._reader.join(5)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code


@pytest.fixture(scope="session")
def predict_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of model-folder builds for the session: `predict mnist` and `playground
    mnist` build the MNIST function once between them."""
    return tmp_path_factory.mktemp("predict-cache")


@pytest.fixture
def server() -> Iterator[Callable[..., ServerProcess]]:
    """``server("local", "start-api", "-t", ...)``: started, and stopped after the test."""
    started: list[ServerProcess] = []

    def start(*args: str, cwd: Path = REPO) -> ServerProcess:
        started.append(ServerProcess(*args, cwd=cwd))
        return started[-1]

    yield start
    for process in started:
        process.stop()
