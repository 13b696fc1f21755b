from __future__ import annotations

import json

import pytest

from lambdalite.bundle.image import dockerfile_text, parse_dockerfile

HANDLER = "lambdalite.function.handler.lambda_handler"


@pytest.mark.parametrize("arch,tag", [("x86_64", "3.12-x86_64"), ("arm64", "3.12-arm64")])
def test_dockerfile_from_copy_cmd(arch, tag):
    steps = parse_dockerfile(dockerfile_text("python3.12", arch, HANDLER))
    assert [s.keyword for s in steps] == ["FROM", "COPY", "CMD"]
    assert steps[0].args == f"public.ecr.aws/lambda/python:{tag}"
    assert steps[1].args == "task/ ${LAMBDA_TASK_ROOT}/"
    assert json.loads(steps[2].args) == [HANDLER]


def test_digest_pins_the_base_image():
    digest = "sha256:" + "ab" * 32
    steps = parse_dockerfile(dockerfile_text("python3.11", "x86_64", HANDLER, digest))
    assert steps[0].args == f"public.ecr.aws/lambda/python:3.11-x86_64@{digest}"


def test_parser_joins_continuations_and_drops_comments():
    text = "# c\nFROM a\nRUN x \\\n  && y\n\ncmd [\"h\"]\n"
    assert [(s.keyword, s.args) for s in parse_dockerfile(text)] == [
        ("FROM", "a"), ("RUN", "x  && y"), ("CMD", '["h"]')]
