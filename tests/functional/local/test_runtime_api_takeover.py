"""Another local process cannot take an environment's invocations through its Runtime API
(which it can find with ``ss -ltn``): it is refused, and the function keeps serving."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec
from lambdalite.local.interpreters import HOST_VERSION
from lambdalite.local.runtime_api import PROTECTED_NOTICE, peer_check_available

HANDLERS = Path(__file__).resolve().parents[2] / "fixtures" / "handlers"
pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not peer_check_available(), reason="/proc/net/tcp unreadable")]

# Waits in `next` like a runtime; if it gets an event, answers it as the function.
ATTACKER = textwrap.dedent("""
    import http.client, json, sys
    conn = http.client.HTTPConnection(sys.argv[1], timeout=30)
    try:
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        response = conn.getresponse()
        body = response.read()
    except Exception as exc:
        print(json.dumps({"status": None, "error": type(exc).__name__}))
        sys.exit()
    request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
    if response.status == 200:
        conn.request("POST", f"/2018-06-01/runtime/invocation/{request_id}/response",
                     body=b'{"taken": true}')
        conn.getresponse().read()
    print(json.dumps({"status": response.status, "body": body.decode(), "took": request_id}))
""")


@pytest.fixture(scope="module")
def engine() -> Iterator[LocalLambda]:
    spec = FunctionSpec("Echo", "echo.handler", HANDLERS, runtime=f"python{HOST_VERSION}",
                        memory_mb=128, timeout_s=5)
    with LocalLambda({"Echo": spec}, idle_timeout_s=600) as local:
        yield local


def test_another_process_is_refused_and_the_function_keeps_serving(engine: LocalLambda) -> None:
    first = json.loads(engine.invoke("Echo", b'{"n": 0}').payload)
    (env,) = engine.environments("Echo")
    attacker = subprocess.Popen([sys.executable, "-c", ATTACKER, env.api.address],
                                stdout=subprocess.PIPE, text=True)
    try:
        answers = [json.loads(engine.invoke("Echo", json.dumps({"n": n}).encode()).payload)
                   for n in range(1, 6)]
        out, _ = attacker.communicate(timeout=60)
    finally:
        attacker.kill()
    seen = json.loads(out)
    assert seen["status"] == 403, f"the other process got an invocation: {seen}"
    assert "AccessDenied" in seen["body"]
    assert [a["event"] for a in answers] == [{"n": n} for n in range(1, 6)]
    assert {a["pid"] for a in answers} == {first["pid"]}    # the function's own runtime
    assert env.api.refused >= 1
    assert engine.runtime_api_notice == PROTECTED_NOTICE
