"""The StegaStamp example as Lambda runs it: ``lambdalite build`` (bchlib's x86_64 wheel and
the hooks file in the package), then the real awslambdaric in the local Lambda."""

from __future__ import annotations

import base64
import io
import json

import pytest

from lambdalite.bundle.api import BuildResult, PackageOptions, build_package
from lambdalite.examples import stegastamp_example
from lambdalite.examples.stegastamp import EVENT, EVENT_SECRET, encode_image
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec

FUNCTION = "StegaStampFunction"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return build_package(PackageOptions(
        model_dir=stegastamp_example() / "model", out_dir=tmp_path_factory.mktemp("steg"),
        runtime="python3.11", arch="x86_64", variant="int8"))


def test_build_ships_bchlib_and_the_hooks(package: BuildResult) -> None:
    assert any(pin.startswith("bchlib==2.") for pin in package.installed)
    assert list(package.task_root.glob("bchlib*.cpython-311-x86_64-linux-gnu.so"))
    assert not package.compiled          # x86_64 python3.11 has bchlib's wheel
    model = package.task_root / "model"
    assert (model / "hooks.py").is_file() and (model / "int8.tflite").is_file()


def test_the_function_decodes_through_the_real_runtime_client(package: BuildResult) -> None:
    spec = FunctionSpec(FUNCTION, package.handler, package.task_root, runtime="python3.11",
                        memory_mb=512, timeout_s=30)
    buf = io.BytesIO()
    encode_image("€uro").save(buf, "PNG")
    with LocalLambda({FUNCTION: spec}) as engine:
        http = engine.invoke(FUNCTION, (stegastamp_example() / EVENT).read_bytes())
        direct = engine.invoke(FUNCTION, json.dumps(
            {"image": base64.b64encode(buf.getvalue()).decode()}).encode())
    assert http.function_error is None, http.payload[:2000]
    answer = json.loads(http.payload)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"secret": EVENT_SECRET, "bitflips": 0}
    assert json.loads(direct.payload) == {"secret": "€uro", "bitflips": 0}
    init = next(json.loads(line) for line in http.logs.splitlines()
                if line.startswith("{") and '"init"' in line)
    assert init["hooks"] == ["preprocess", "postprocess"]
