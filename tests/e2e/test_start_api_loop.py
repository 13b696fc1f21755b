"""`lambdalite local start-api` for the everyday loop: Function URLs on their own ports, hot
reload of a function's code (real servers on free ports, real urllib clients)."""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HANDLERS = REPO / "tests" / "fixtures" / "handlers"
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
pytestmark = pytest.mark.timeout(180)


def call(url: str, body: bytes = b"", method: str = "POST",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body or None, method=method,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_function_urls_get_their_own_ports_and_function_url_events(
        tmp_path: Path, server: Any) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(f"""\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {{Runtime: {RUNTIME}, CodeUri: {HANDLERS}, MemorySize: 128, Timeout: 3}}
Resources:
  Open:
    Type: AWS::Serverless::Function
    Properties:
      Handler: echo.handler
      FunctionUrlConfig: {{AuthType: NONE}}
      Events:
        Api: {{Type: HttpApi, Properties: {{Path: /echo, Method: get}}}}
  Signed:
    Type: AWS::Serverless::Function
    Properties:
      Handler: echo.handler
      FunctionUrlConfig: {{AuthType: AWS_IAM}}
  Fails:
    Type: AWS::Serverless::Function
    Properties:
      Handler: raises.handler
      FunctionUrlConfig: {{AuthType: NONE}}
""")
    running = server("local", "start-api", "-t", str(template), "--port", "0", "--url-port", "0")
    urls = {}
    for name in ("Fails", "Open", "Signed"):
        urls[name] = running.wait_for(
            rf"ANY +(http://127\.0\.0\.1:\d+)/\*  -> {name} \(Function URL, AuthType").group(1)
    assert len(set(urls.values())) == 3 and running.url not in urls.values()
    running.wait_for(r"Signed: FunctionUrlConfig AuthType AWS_IAM: not checked locally")

    status, headers, body = call(f"{urls['Open']}/any/path?x=1&x=2", b"hi",
                                 headers={"Content-Type": "text/plain", "Cookie": "a=1; b=2"})
    event = json.loads(body)["event"]
    context = event["requestContext"]
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert (event["version"], event["routeKey"], event["rawPath"], event["rawQueryString"]) == (
        "2.0", "$default", "/any/path", "x=1&x=2")
    assert event["queryStringParameters"] == {"x": "1,2"} and event["cookies"] == ["a=1", "b=2"]
    assert context["domainName"].endswith(".lambda-url.us-east-1.on.aws")
    assert context["accountId"] == "anonymous" and event["body"] == "hi"
    assert "authorizer" not in context

    _, _, body = call(urls["Signed"], method="GET")
    assert json.loads(body)["event"]["requestContext"]["authorizer"]["iam"]
    status, _, body = call(urls["Fails"])
    assert (status, json.loads(body)) == (502, {"Message": "Internal Server Error"})
    status, _, body = call(f"{running.url}/echo", method="GET")
    assert status == 200   # the API route: an HTTP API event, not a Function URL's
    assert ".lambda-url." not in json.loads(body)["event"]["requestContext"]["domainName"]


APP = """\
import os

VERSION = {version}


def handler(event, context):
    return {{"statusCode": 200, "body": f"{{VERSION}} {{os.getpid()}}"}}
"""


def reload_template(tmp_path: Path) -> Path:
    code = tmp_path / "src"
    code.mkdir()
    (code / "app.py").write_text(APP.format(version=1))
    template = tmp_path / "template.yaml"
    template.write_text(f"""\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: {RUNTIME}
      CodeUri: src
      MemorySize: 128
      Events:
        Get: {{Type: HttpApi, Properties: {{Path: /v, Method: get}}}}
""")
    return template


def version(url: str) -> tuple[str, str]:
    status, _, body = call(f"{url}/v", method="GET")
    assert status == 200, body
    number, pid = body.decode().split()
    return number, pid


def test_a_changed_file_makes_the_next_call_a_cold_start_with_the_new_code(
        tmp_path: Path, server: Any) -> None:
    template = reload_template(tmp_path)
    running = server("local", "start-api", "-t", str(template), "--port", "0")
    running.wait_for(r"hot reload: watching 1 code/model path")
    first = version(running.url)
    assert first[0] == "1"
    assert version(running.url) == first                      # warm: the same environment
    seen = len(running.lines)
    time.sleep(0.5)   # the watch is set up in the background after the start-up lines
    (tmp_path / "src" / "app.py").write_text(APP.format(version=2))
    running.wait_for(r"reload: Fn: app.py changed; 1 environment\(s\) reclaimed, the next "
                     r"call is a cold start", after=seen)
    reports = len([line for line in running.lines if line.startswith("REPORT")])
    second = version(running.url)
    assert second[0] == "2" and second[1] != first[1]
    running.wait_for(r"^REPORT .*Init Duration", after=seen)   # the new environment's cold start
    assert len([line for line in running.lines if line.startswith("REPORT")]) == reports + 1
    (tmp_path / "template.yaml").write_text(template.read_text() + "\n")
    running.wait_for(r"template.yaml changed: restart to apply it", after=seen)


def test_no_watch_keeps_the_warm_environment_and_its_code(tmp_path: Path, server: Any) -> None:
    template = reload_template(tmp_path)
    running = server("local", "start-api", "-t", str(template), "--port", "0", "--no-watch")
    first = version(running.url)
    (tmp_path / "src" / "app.py").write_text(APP.format(version=2))
    time.sleep(1.5)   # past the reload debounce: nothing is watching
    assert version(running.url) == first
    assert not any(line.startswith(("reload:", "hot reload:")) for line in running.lines)


def test_start_api_playground_lists_the_fronts_and_calls_through_them(
        tmp_path: Path, server: Any) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(f"""\
Transform: AWS::Serverless-2016-10-31
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: echo.handler
      Runtime: {RUNTIME}
      CodeUri: {HANDLERS}
      MemorySize: 128
      FunctionUrlConfig: {{AuthType: NONE}}
      Events:
        Api: {{Type: HttpApi, Properties: {{Path: /echo, Method: post}}}}
""")
    running = server("local", "start-api", "-t", str(template), "--port", "0", "--url-port", "0",
                     "--playground", "--playground-port", "0")
    page = running.wait_for(r"playground: (http://127\.0\.0\.1:\d+)/").group(1)
    status, headers, html = call(page + "/", method="GET")
    assert status == 200 and headers["Content-Security-Policy"].startswith("default-src 'self'")
    # Every script and style the page loads is the playground's own: nothing from a CDN.
    assert re.findall(rb'(?:src|href)="([^"]+)"', html) == [b"/static/playground.css",
                                                           b"/static/playground.js"]
    _, _, listing = call(page + "/api/targets", method="GET")
    targets = json.loads(listing)["targets"]
    assert [(t["label"], t["model"]) for t in targets] == [
        ("Echo - POST /echo (HTTP API)", None), ("Echo - POST / (Function URL)", None)]
    for target, cold in ((1, True), (0, False)):
        status, _, shown = call(f"{page}/api/call?target={target}&top_k=2", b'{"a": 1}',
                                headers={"Content-Type": "application/json"})
        answer = json.loads(shown)
        event = json.loads(answer["body"])["event"]
        assert status == 200 and answer["status"] == 200 and answer["call"]["cold"] is cold
        assert event["queryStringParameters"] == {"top_k": "2"} and event["body"] == '{"a": 1}'
        assert answer["call"]["report"].startswith("REPORT RequestId: ")
    assert ".lambda-url." not in event["requestContext"]["domainName"]   # the last: HTTP API
    status, _, _ = call(f"{page}/api/call?target=9", b"x")
    assert status == 400
