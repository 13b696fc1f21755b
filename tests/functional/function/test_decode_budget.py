"""Image bombs against the function under the real runtime, at 128 MB and 1024 MB, with the
cgroup memory cap the local Lambda enforces: a batch whose headers declare more pixels than the
function's memory can decode gets a 413 naming the budget (it used to die with
Runtime.OutOfMemory), a batch within the budget is decoded one image at a time, and the same
environment keeps serving afterwards."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator

import pytest
from PIL import Image

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec
from lambdalite.local.interpreters import HOST_VERSION
from lambdalite.local.limits import LimitsMode

pytestmark = pytest.mark.timeout(300)
SIDE = 4095                       # under LAMBDALITE_MAX_PIXELS (4096 x 4096) on its own


def webp_bomb() -> str:
    """~700 bytes of lossless WebP declaring a 4095x4095 canvas: ~260 MB to decode."""
    buf = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), (10, 20, 30)).save(buf, "WEBP", lossless=True)
    assert len(buf.getvalue()) < 1024
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def bomb() -> str:
    return webp_bomb()


def spec(memory_mb: int, served, repo_root) -> FunctionSpec:
    return FunctionSpec(name="Fn", handler="lambdalite.function.handler.lambda_handler",
                        code_dir=repo_root, runtime=f"python{HOST_VERSION}",
                        memory_mb=memory_mb, timeout_s=60,
                        environment={"LAMBDALITE_MODEL_DIR": str(served.model_dir)})


@pytest.fixture(scope="module", params=[128, 1024], ids=lambda mb: f"{mb}MB")
def function(request, served, repo_root) -> Iterator[tuple[LocalLambda, int]]:
    engine = LocalLambda({"Fn": spec(request.param, served, repo_root)}, idle_timeout_s=600)
    if engine.limits_mode is LimitsMode.FALLBACK:
        engine.close()
        pytest.skip("no writable cgroups here: memory is not capped by the kernel")
    try:
        yield engine, request.param
    finally:
        engine.close()


def http_event(load_event, images: list[str]) -> bytes:
    event = load_event("apigw_rest_v1.json", body=json.dumps({"images": images}))
    event["headers"]["Content-Type"] = "application/json"
    event["isBase64Encoded"] = False
    return json.dumps(event).encode()


def test_a_bomb_batch_gets_413_and_the_function_keeps_serving(function, bomb, served,
                                                              load_event) -> None:
    engine, memory_mb = function
    warm = engine.invoke("Fn", json.dumps({"image": served.samples[0].b64}).encode())
    assert json.loads(warm.payload) == {"predicted_label": served.samples[0].label}, warm.logs
    env = warm.environment_id

    result = engine.invoke("Fn", http_event(load_event, [bomb] * 5))
    assert result.error_type is None, f"{result.error_type}: {result.payload[:300]!r}"
    answer = json.loads(result.payload)
    assert answer["statusCode"] == 413, answer
    error = json.loads(answer["body"])["error"]
    assert error["type"] == "ImageTooLarge", error
    assert f"MemorySize {memory_mb} MB" in error["message"]
    assert "LAMBDALITE_MAX_REQUEST_PIXELS" in error["message"]   # how to raise it

    direct = engine.invoke("Fn", json.dumps({"images": [bomb] * 5}).encode())
    assert direct.error_type == "ImageTooLarge", direct.payload[:300]

    after = engine.invoke("Fn", json.dumps({"image": served.samples[1].b64}).encode())
    assert json.loads(after.payload) == {"predicted_label": served.samples[1].label}
    assert after.environment_id == env and not after.cold, "the bomb cost the environment"


def test_a_batch_within_the_budget_is_decoded_one_image_at_a_time(function, bomb,
                                                                  load_event) -> None:
    """As many bombs as the budget allows are served, and the environment's peak memory stays
    below what decoding them all at once takes (each is reduced before the next is decoded)."""
    engine, memory_mb = function
    refused = json.loads(engine.invoke("Fn", json.dumps({"images": [bomb] * 16}).encode())
                         .payload)
    budget = int(re.search(r"budget is (\d+) decoded pixels", refused["errorMessage"]).group(1))
    count = budget // (SIDE * SIDE)
    if count < 2:
        pytest.skip(f"{memory_mb} MB decodes fewer than two 4095x4095 images per request")
    result = engine.invoke("Fn", json.dumps({"images": [bomb] * count, "top_k": 1}).encode())
    assert result.error_type is None, f"{result.error_type}: {result.payload[:300]!r}"
    assert len(json.loads(result.payload)["predictions"]) == count
    at_once_mb = count * SIDE * SIDE * 15 // (1024 * 1024)     # 15 bytes per pixel, measured
    assert result.report.max_memory_used_mb < at_once_mb
