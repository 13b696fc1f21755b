"""What `lambdalite predict` sends for a file, and when its cached build is reused (no build)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from lambdalite import envvars
from lambdalite.errors import UsageError
from lambdalite.lambda_facts import host_arch
from lambdalite.prediction.api import request_body
from lambdalite.prediction.cache import build_key, cache_root


def test_a_npy_is_sent_as_base64_inputs(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00")
    body = request_body(path)
    assert body.content_type == "application/json"
    assert json.loads(body.data) == {"inputs": {"npy": base64.b64encode(path.read_bytes())
                                                .decode()}}


@pytest.mark.parametrize(("content", "sent"), [
    ([[1.0, 2.0]], {"inputs": [[1.0, 2.0]]}),
    ({"a": [1], "b": [2]}, {"inputs": {"a": [1], "b": [2]}}),
    ({"inputs": [1], "top_k": 3}, {"inputs": [1], "top_k": 3}),
    ({"image": "aGk="}, {"image": "aGk="}),
])
def test_a_json_file_is_wrapped_as_inputs_unless_it_is_a_request(
        tmp_path: Path, content: object, sent: object) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(content))
    assert json.loads(request_body(path).data) == sent


def test_an_image_is_sent_as_it_is_and_other_files_are_refused(tmp_path: Path) -> None:
    image = tmp_path / "digit.png"
    image.write_bytes(b"\x89PNG")
    assert (request_body(image).data, request_body(image).content_type) == (b"\x89PNG",
                                                                            "image/png")
    notes = tmp_path / "notes.txt"
    notes.write_text("hi")
    with pytest.raises(UsageError, match=r"notes.txt: send an image .* not text/plain"):
        request_body(notes)
    broken = tmp_path / "bad.json"
    broken.write_text("{")
    with pytest.raises(UsageError, match="bad.json is not valid JSON"):
        request_body(broken)


def test_the_build_key_changes_with_the_model_and_the_target(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    model = tmp_path / "float32.tflite"
    model.write_bytes(b"a")
    key = build_key(tmp_path, runtime="python3.12", arch="x86_64", variant=None,
                    backend="litert")
    assert key == build_key(tmp_path, runtime="python3.12", arch="x86_64", variant=None,
                            backend="litert")
    assert key != build_key(tmp_path, runtime="python3.13", arch="x86_64", variant=None,
                            backend="litert")
    assert key != build_key(tmp_path, runtime="python3.12", arch="x86_64", variant="int8",
                            backend="litert")
    model.write_bytes(b"bb")
    os.utime(model, ns=(1, 1))
    assert key != build_key(tmp_path, runtime="python3.12", arch="x86_64", variant=None,
                            backend="litert")


def test_the_cache_folder_argument_then_environment_then_default(tmp_path: Path) -> None:
    assert cache_root(tmp_path, {envvars.CACHE_DIR: "/env"}) == tmp_path
    assert cache_root(None, {envvars.CACHE_DIR: "/env"}) == Path("/env")
    assert cache_root(None, {}).parts[-3:] == (".cache", "lambdalite", "predict")


@pytest.mark.parametrize(("machine", "arch"), [
    ("x86_64", "x86_64"), ("AMD64", "x86_64"), ("aarch64", "arm64"), ("arm64", "arm64"),
    ("riscv64", None)])
def test_host_arch(machine: str, arch: str | None) -> None:
    assert host_arch(machine) == arch
