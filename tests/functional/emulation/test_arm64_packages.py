"""A python3.13 arm64 package, built as for Lambda, runs here: real awslambdaric under qemu in
the local engine, answering as on x86_64; and bchlib, which has no wheel for it, is compiled
for it and corrects bits under emulation.

``EXAMPLES`` are the bundled examples this runs for; an example added to the package is one
more entry (its model folder, its event, what its answer must be).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lambdalite.bundle.api import BuildResult, PackageOptions, build_package
from lambdalite.bundle.slim import find_interpreter
from lambdalite.emulation import Emulator, Userland
from lambdalite.examples import mnist_example, stegastamp_example
from lambdalite.examples.stegastamp import EVENT, EVENT_SECRET
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec

FUNCTION = "Arm64Function"


def mnist_label(payload: dict) -> object:
    """The digit the MNIST event's image is (its file in digits/ is named by its label)."""
    image = base64.b64decode(json.loads((mnist_example() / "events/event.json").read_text())["body"])
    labels = [int(p.name.split("_")[0]) for p in (mnist_example() / "digits").glob("*.png")
              if p.read_bytes() == image]
    return json.loads(payload["body"])["predicted_label"] == labels[0]


def stegastamp_secret(payload: dict) -> object:
    """The secret the event's code holds, as the x86_64 package answers it
    (tests/functional/examples/test_stegastamp_package.py)."""
    return json.loads(payload["body"]) == {"secret": EVENT_SECRET, "bitflips": 0}


@dataclass(frozen=True)
class Example:
    model_dir: Path
    event: Path
    # bchlib rides along with MNIST: one build covers the compiled-dependency path too.
    extra_requirements: tuple[str, ...]
    answers_right: Callable[[dict], object]


EXAMPLES = {
    "mnist": Example(mnist_example() / "model", mnist_example() / "events" / "event.json",
                     # ai-edge-litert 2.1.0: what the build steps down to for python3.13 arm64
                     # (tested in tests/functional/bundle); pinned to skip the 8 screenings.
                     ("bchlib==2.1.3", "ai-edge-litert==2.1.0"), mnist_label),
    # bchlib comes from the hooks' requirement (bchlib>=2.1,<3), compiled: no arm64 wheel.
    "stegastamp": Example(stegastamp_example() / "model", stegastamp_example() / EVENT,
                          ("ai-edge-litert==2.1.0",), stegastamp_secret),
}


@pytest.fixture(scope="session", params=sorted(EXAMPLES))
def arm64_package(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  userland: Userland) -> tuple[Example, BuildResult]:
    if importlib.util.find_spec("ziglang") is None:
        pytest.skip("ziglang (lambdalite[compile]) is not installed: bchlib cannot be compiled")
    if find_interpreter("3.13") is None:
        pytest.skip("no CPython 3.13 here to drive the compile of bchlib (pyenv install 3.13)")
    example = EXAMPLES[request.param]
    result = build_package(PackageOptions(
        model_dir=example.model_dir, out_dir=tmp_path_factory.mktemp(f"{request.param}-arm64"),
        runtime="python3.13", arch="arm64", extra_requirements=example.extra_requirements))
    return example, result


def test_the_build_says_bchlib_was_compiled_for_arm64(arm64_package):
    _, result = arm64_package
    (note,) = result.compiled
    assert note.startswith("bchlib 2.1.3: compiled from source for arm64 (no wheel for the "
                           "target; zig cc -target aarch64-linux-gnu.2.34, Python headers: ")
    assert "needs GLIBC_2.17" in note
    assert "bchlib==2.1.3" in result.installed
    assert f"# {note}" in result.lock_path.read_text().splitlines()
    assert json.loads((result.task_root.parent / "build.json").read_text())["compiled"] == [note]
    assert list(result.task_root.glob("bchlib.cpython-313-aarch64-linux-gnu.so"))


def test_emulated_invoke_answers_as_on_x86_64(arm64_package):
    example, result = arm64_package
    spec = FunctionSpec(FUNCTION, result.handler, result.task_root, runtime="python3.13",
                        memory_mb=1024, timeout_s=30, architecture="arm64")
    event = example.event.read_bytes()
    with LocalLambda({FUNCTION: spec}) as engine:
        assert engine.interpreters[FUNCTION].emulated
        assert any("runs emulated (qemu-aarch64-static -cpu neoverse-n1)" in w
                   for w in engine.warnings)
        cold = engine.invoke(FUNCTION, event)
        warm = engine.invoke(FUNCTION, event)
    assert cold.function_error is None, cold.payload[:2000]
    assert cold.cold and not warm.cold and warm.function_error is None
    assert example.answers_right(json.loads(cold.payload))
    assert json.loads(warm.payload) == json.loads(cold.payload)
    report = cold.report
    assert report.init_duration_ms and report.init_duration_ms > 0
    # qemu is the process the limits hold: its memory is the environment's.
    assert 0 < report.max_memory_used_mb <= 1024
    assert "INIT_START" in cold.logs and "REPORT RequestId" in cold.logs


BCH_CHECK = """
import bchlib, json, platform, random
bch = bchlib.BCH(5, prim_poly=137)      # t=5: StegaStamp's 96 bits = 56 data + 40 ecc
random.seed(1)
data = bytearray(b"Stega!!")
ecc = bch.encode(data)
fixed = []
for flips in range(6):
    packet = bytearray(data + ecc)
    for bit in random.sample(range(len(packet) * 8), flips):
        packet[bit // 8] ^= 1 << (bit % 8)
    d, e = bytearray(packet[:7]), bytearray(packet[7:])
    found = bch.decode(d, e)
    bch.correct(d, e)
    fixed.append([found, bytes(d) == bytes(data) and bytes(e) == ecc])
print(json.dumps({"machine": platform.machine(), "file": bchlib.__file__, "ecc": ecc.hex(),
                  "fixed": fixed}))
"""


def test_compiled_bchlib_corrects_bits_under_emulation(arm64_package, userland: Userland,
                                                       emulator: Emulator):
    _, result = arm64_package
    done = subprocess.run(emulator.command(userland.python, ["-c", BCH_CHECK]),
                          capture_output=True, text=True, timeout=120, check=False,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(result.task_root)})
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen["machine"] == "aarch64" and seen["file"].startswith(str(result.task_root))
    assert seen["ecc"] == "88a9fb4e40"     # the same ecc as PyPI's x86_64 bchlib wheel
    assert seen["fixed"] == [[n, True] for n in range(6)]   # up to t=5 flipped bits corrected
