"""`lambdalite predict` and `local invoke --body-file` as a user runs them: real builds, the
real function in the local Lambda, real subprocesses."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "lambdalite" / "examples" / "mnist" / "digits"
HANDLERS = REPO / "tests" / "fixtures" / "handlers"
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
REPORT = re.compile(r"^REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
                    r"Memory Size: 1024 MB\tMax Memory Used: \d+ MB(\tInit Duration: [\d.]+ ms)?$")
pytestmark = pytest.mark.timeout(300)


def lambdalite(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lambdalite", *args], capture_output=True,
                          text=True, timeout=280, cwd=cwd)


@pytest.fixture
def cache(predict_cache: Path) -> Path:
    return predict_cache


def test_predict_builds_the_model_once_then_answers_each_file_cold_then_warm(cache: Path) -> None:
    files = [DIGITS / "7_0.png", DIGITS / "3_2.jpg"]
    first = lambdalite("predict", "mnist", *map(str, files), "--cache-dir", str(cache))
    assert first.returncode == 0, first.stderr
    assert [json.loads(line) for line in first.stdout.splitlines()] == [
        {"predicted_label": 7}, {"predicted_label": 3}]
    reports = [line for line in first.stderr.splitlines() if line.startswith("REPORT")]
    assert len(reports) == 2 and all(REPORT.match(line) for line in reports), first.stderr
    assert "Init Duration" in reports[0] and "Init Duration" not in reports[1]   # cold, warm
    # Built now, or by an earlier test of the session (playground mnist shares the cache).
    built = re.search(r"predict: InferenceFunction \((\S+template\.yaml), (built now|reused)\)",
                      first.stderr)
    assert built and "via POST /classify_digit (REST API" in first.stderr, first.stderr

    again = lambdalite("predict", "mnist", str(files[0]), "--cache-dir", str(cache),
                       "--trigger", "direct")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"predicted_label": 7}
    assert f"({built.group(1)}, reused)" in again.stderr and "via direct invocation" in again.stderr


def test_predict_a_bad_file_prints_the_functions_answer_and_exits_1(cache: Path,
                                                                     tmp_path: Path) -> None:
    fake = tmp_path / "not-an-image.png"
    fake.write_bytes(b"these bytes are no PNG")
    done = lambdalite("predict", "mnist", str(fake), "--cache-dir", str(cache))
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["type"] == "NotAnImage"
    assert "failed for" in done.stderr and "(HTTP 415)" in done.stderr


def test_predict_refuses_what_is_neither_model_nor_template(tmp_path: Path) -> None:
    done = lambdalite("predict", str(tmp_path), str(DIGITS / "7_0.png"))
    assert done.returncode == 2
    assert "neither a model folder (with manifest.json) nor a SAM template" in done.stderr


@pytest.fixture(scope="module")
def echo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("body-file") / "template.yaml"
    path.write_text(f"""\
Transform: AWS::Serverless-2016-10-31
Globals:
  Api: {{BinaryMediaTypes: ["image~1png"]}}
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: echo.handler
      Runtime: {RUNTIME}
      CodeUri: {HANDLERS}
      MemorySize: 128
      FunctionUrlConfig: {{AuthType: AWS_IAM}}
      Events:
        Rest: {{Type: Api, Properties: {{Path: "/items/{{id}}", Method: post}}}}
        Http: {{Type: HttpApi, Properties: {{Path: /h, Method: put}}}}
""")
    return path


@pytest.mark.parametrize(("trigger", "check"), [
    (None, lambda e: e["httpMethod"] == "POST" and e["pathParameters"] == {"id": "sample"}),
    ("http-api", lambda e: e["version"] == "2.0" and e["routeKey"] == "PUT /h"),
    ("function-url", lambda e: e["requestContext"]["domainName"].endswith(
        ".lambda-url.us-east-1.on.aws") and "iam" in e["requestContext"]["authorizer"]),
])
def test_body_file_is_wrapped_in_the_event_of_the_trigger(echo_template: Path, trigger: str | None,
                                                          check: object) -> None:
    digit = DIGITS / "7_0.png"
    extra = ("--trigger", trigger) if trigger else ()
    done = lambdalite("local", "invoke", "-t", str(echo_template), "--body-file", str(digit),
                      *extra)
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout)["event"]
    assert callable(check) and check(event), event
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == \
        digit.read_bytes()


def test_body_file_direct_and_its_usage_errors(echo_template: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text('{"inputs": [[1, 2]]}')
    done = lambdalite("local", "invoke", "-t", str(echo_template), "--body-file", str(inputs),
                      "--trigger", "direct")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["event"] == {"inputs": [[1, 2]]}
    both = lambdalite("local", "invoke", "-t", str(echo_template), "--body-file", str(inputs),
                      "-e", str(inputs))
    assert both.returncode == 2 and "either -e/--event or --body-file" in both.stderr
    alone = lambdalite("local", "invoke", "-t", str(echo_template), "--trigger", "direct")
    assert alone.returncode == 2 and "--trigger goes with --body-file" in alone.stderr


def test_predict_sends_npy_and_json_files_as_tensor_requests(echo_template: Path,
                                                             tmp_path: Path) -> None:
    """The request shapes of the function's tensor inputs ({"inputs": ...}), as the function
    receives them through its trigger (the echo handler returns its event)."""
    npy = tmp_path / "x.npy"
    npy.write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, "
                    b"'shape': (1,), }" + b" " * 50 + b"\n\x00\x00\x80?")
    values = tmp_path / "x.json"
    values.write_text("[[1.5, 2.5]]")
    done = lambdalite("predict", str(echo_template), str(npy), str(values), "--trigger",
                      "direct")
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line)["event"] for line in done.stdout.splitlines())
    assert base64.b64decode(first["inputs"]["npy"]) == npy.read_bytes()
    assert second == {"inputs": [[1.5, 2.5]]}
    over_http = lambdalite("predict", str(echo_template), str(values), "--trigger", "http-api")
    event = json.loads(over_http.stdout)["event"]
    assert over_http.returncode == 0 and json.loads(event["body"]) == {"inputs": [[1.5, 2.5]]}
    assert event["isBase64Encoded"] is False   # JSON travels as text on every trigger


def test_local_invoke_debug_port_waits_for_a_debugger_then_answers(
        tmp_path: Path, dap_client: Any) -> None:
    import socket

    (tmp_path / "app.py").write_text("def handler(event, context):\n    return event['n'] + 1\n")
    template = tmp_path / "template.yaml"
    template.write_text(f"""\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {{Handler: app.handler, Runtime: {RUNTIME}, CodeUri: ., MemorySize: 512, Timeout: 1}}
""")
    event = tmp_path / "event.json"
    event.write_text('{"n": 41}')
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "lambdalite", "local", "invoke", "-t",
                                str(template), "-e", str(event), "-d", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dap = dap_client(port)
    try:
        dap.request("initialize", clientID="lambdalite-test", adapterID="debugpy")
        attach = dap.send("attach", justMyCode=True)
        dap.wait("event", "initialized")
        dap.request("configurationDone")
        dap.wait("response", "attach", attach)
        out, err = process.communicate(timeout=60)
    finally:
        dap.close()
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.strip() == "42"
    assert f"debugger: Fn runs under debugpy on 127.0.0.1:{port}" in err
