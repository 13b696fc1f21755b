"""`lambdalite local ...` as a user runs it: real subprocesses, real servers, boto3 and urllib."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
HANDLERS = REPO / "tests" / "fixtures" / "handlers"
LAMBDALITE = [sys.executable, "-m", "lambdalite"]
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
pytestmark = pytest.mark.timeout(180)

TEMPLATE = f"""\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {{Type: String, Default: hello}}
Globals:
  Function:
    Runtime: {RUNTIME}
    CodeUri: {HANDLERS}
    MemorySize: 128
    Timeout: 3
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: echo.handler
      FunctionName: echo-fn
      Environment: {{Variables: {{GREETING: !Ref Greeting}}}}
      Layers: [!Ref SomeLayer]
  Raises:
    Type: AWS::Serverless::Function
    Properties: {{Handler: raises.handler}}
  Broken:
    Type: AWS::Serverless::Function
    Properties: {{Handler: app.handler, CodeUri: not-built-yet}}
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("local-cli") / "template.yaml"
    path.write_text(TEMPLATE)
    return path


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LAMBDALITE, "local", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, cwd=REPO)


def test_invoke_prints_response_and_lambda_logs(template: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"n": 1}')
    done = run("invoke", "Echo", "-t", str(template), "-e", str(event),
               "--parameter-overrides", "Greeting=hi")
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["event"] == {"n": 1} and response["env"]["GREETING"] == "hi"
    lines = done.stderr.splitlines()
    request_id = response["request_id"]
    assert f"START RequestId: {request_id} Version: $LATEST" in lines
    assert f"END RequestId: {request_id}" in lines
    report = next(line for line in lines if line.startswith("REPORT"))
    assert re.search(r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms$",
                     report)
    assert any("Echo: Layers: not emulated" in line for line in lines)   # unsupported, warned
    assert any(line.startswith("limits: ") for line in lines)
    assert "Broken" not in done.stderr   # another function's template error is not Echo's


def test_invoke_from_stdin_with_overrides_and_env_vars(template: Path, tmp_path: Path) -> None:
    env_vars = tmp_path / "env.json"
    env_vars.write_text(json.dumps({"Echo": {"GREETING": "from-file", "UNDECLARED": "x"}}))
    done = run("invoke", "echo-fn", "-t", str(template), "-e", "-", "--memory", "256",
               "--env-vars", str(env_vars), stdin='{"piped": true}')
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["event"] == {"piped": True}
    assert response["env"]["GREETING"] == "from-file"
    assert response["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert "UNDECLARED, which the template does not declare" in done.stderr


def test_invoke_function_error_exits_1(template: Path) -> None:
    done = run("invoke", "Raises", "-t", str(template))
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "BoomError"
    assert "REPORT RequestId" in done.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("invoke",), "has 3 functions: name one of Broken, Echo, Raises"),
    (("invoke", "Broken"), "Broken: CodeUri not-built-yet not found"),
    (("invoke", "Nope"), "no function 'Nope'"),
    (("invoke", "Echo", "-e", "/does/not/exist.json"), "cannot read the event"),
    (("invoke", "-t", "/does/not/template.yaml"), "template /does/not/template.yaml not found"),
])
def test_invoke_usage_errors_exit_2(template: Path, args: tuple[str, ...], message: str) -> None:
    if "-t" not in args:
        args = (*args, "-t", str(template))
    done = run(*args)
    assert done.returncode == 2 and message in done.stderr, done.stderr


class Server:
    """A `lambdalite local start-*` subprocess; its stderr is collected by a thread."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([*LAMBDALITE, "local", *args, "--port", "0"], cwd=REPO,
                                        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = self._wait_for_url()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for line in self.lines:
                if match := re.search(r"serving .* on (http://\S+)", line):
                    return match.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError("server did not start:\n" + "\n".join(self.lines))

    def interrupt(self, signum: int = signal.SIGINT) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        self._reader.join(5)
        assert self.process.stderr is not None
        self.process.stderr.close()
        return code


def gone(pid: int) -> bool:
    """The process no longer runs (exited; a zombie awaiting its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_start_lambda_serves_boto3_then_stops_cleanly_on_ctrl_c(template: Path,
                                                                 tmp_path: Path) -> None:
    log_file = tmp_path / "invocations.jsonl"
    server = Server("start-lambda", "-t", str(template), "--log-file", str(log_file))
    try:
        client = boto3.client("lambda", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x",
                              config=Config(retries={"max_attempts": 1}))
        first = json.loads(client.invoke(FunctionName="Echo", Payload=b'{"a": 1}')["Payload"]
                           .read())
        second = json.loads(client.invoke(FunctionName="echo-fn")["Payload"].read())
        assert first["event"] == {"a": 1} and second["pid"] == first["pid"]   # warm
        failed = client.invoke(FunctionName="Raises")
        assert failed["FunctionError"] == "Unhandled"
    finally:
        code = server.interrupt()
    assert code == 0, "\n".join(server.lines)
    assert "lambdalite: shutting down" in server.lines
    assert any(line.startswith("runtime API: ") for line in server.lines)   # its protection
    assert any("Broken: CodeUri not-built-yet not found" in line and "Broken is skipped" in line
               for line in server.lines)
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [r["cold"] for r in records if r["function"] == "Echo"] == [True, False]
    assert any(line.startswith("REPORT RequestId") for line in server.lines)
    deadline = time.monotonic() + 5
    while not gone(first["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(first["pid"]), "the execution environment outlived start-lambda"


def test_start_lambda_sigterm_also_stops_cleanly(template: Path) -> None:
    server = Server("start-lambda", "-t", str(template))
    assert server.interrupt(signal.SIGTERM) == 0, "\n".join(server.lines)
    assert not any("--host" in line for line in server.lines)   # 127.0.0.1: no warning


def test_a_host_reachable_from_the_network_is_warned_about(template: Path) -> None:
    server = Server("start-lambda", "-t", str(template), "--host", "0.0.0.0")
    assert server.interrupt() == 0, "\n".join(server.lines)
    assert any(line.startswith("warning: --host 0.0.0.0 exposes") for line in server.lines), \
        "\n".join(server.lines)


@pytest.fixture(scope="module")
def mnist_template(tmp_path_factory: pytest.TempPathFactory, mnist_model_dir: Path
                   ) -> Iterator[Path]:
    """A task root assembled like a build: the lambdalite package + the model as model/."""
    model = mnist_model_dir
    root = tmp_path_factory.mktemp("mnist")
    task = root / "task"
    shutil.copytree(REPO / "lambdalite", task / "lambdalite",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (task / "model").mkdir()
    for item in model.iterdir():
        if item.suffix in (".json", ".tflite"):
            shutil.copy(item, task / "model" / item.name)
    (root / "template.yaml").write_text(f"""\
Transform: AWS::Serverless-2016-10-31
Globals:
  Api:
    BinaryMediaTypes: ["image~1png"]
Resources:
  InferenceFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: lambdalite.function.handler.lambda_handler
      Runtime: {RUNTIME}
      CodeUri: task
      MemorySize: 1024
      Timeout: 30
      Events:
        Classify: {{Type: Api, Properties: {{Path: /classify_digit, Method: post}}}}
""")
    yield root / "template.yaml"


def test_start_api_serves_the_mnist_function(mnist_template: Path, mnist_model_dir: Path
                                              ) -> None:
    digits = mnist_model_dir.parent / "digits"
    digit = digits / "7_0.png"
    if not digit.exists():
        digit = sorted(digits.glob("*.png"))[0]
    label = int(digit.name.split("_")[0])
    server = Server("start-api", "-t", str(mnist_template))
    try:
        request = urllib.request.Request(f"{server.url}/classify_digit",
                                         data=digit.read_bytes(),
                                         headers={"Content-Type": "image/png"})
        with urllib.request.urlopen(request, timeout=60) as response:
            status, body = response.status, json.loads(response.read())
    finally:
        assert server.interrupt() == 0, "\n".join(server.lines)
    assert status == 200 and body == {"predicted_label": label}, body
    assert any("POST" in line and "/classify_digit" in line for line in server.lines)


def test_e2e_environment_is_clean() -> None:
    """No lambdalite server of this module survives it."""
    mine = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
    for proc in mine:
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and b"lambdalite local start" in cmd:
            pytest.fail(f"orphan server {proc.name}: {cmd!r}")
