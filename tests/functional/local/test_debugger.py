"""`--debug-port`: the runtime runs under debugpy and waits for a client; a real DAP client
(tests/conftest.py's ``dap_client``) attaches, stops at a breakpoint for longer than the function's Timeout, continues, and the call
completes (the Timeout is off while a debugger may stop the code)."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lambdalite.errors import UsageError
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import Debugger, FunctionSpec, InvokeResult

pytest.importorskip("debugpy", reason="debugpy is a lambdalite dependency: pip install debugpy")
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
TIMEOUT_S = 1.0
HANDLER = """\
def handler(event, context):
    answer = event["n"] * 2
    return {"answer": answer}
"""
pytestmark = pytest.mark.timeout(120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_debugger_stops_the_call_past_its_timeout_and_the_call_completes(
        tmp_path: Path, dap_client: Any) -> None:
    (tmp_path / "app.py").write_text(HANDLER)
    port = free_port()
    spec = FunctionSpec("Fn", "app.handler", tmp_path, runtime=RUNTIME, memory_mb=512,
                        timeout_s=TIMEOUT_S)
    results: list[InvokeResult] = []
    with LocalLambda({"Fn": spec}, debug=Debugger("Fn", port)) as engine:
        caller = threading.Thread(target=lambda: results.append(
            engine.invoke("Fn", b'{"n": 21}')))
        caller.start()
        dap = dap_client(port)
        try:
            dap.request("initialize", clientID="lambdalite-test", adapterID="debugpy",
                        pathFormat="path", linesStartAt1=True, columnsStartAt1=True)
            attach = dap.send("attach", justMyCode=True)
            dap.wait("event", "initialized")
            dap.request("setBreakpoints", source={"path": str(tmp_path / "app.py")},
                        breakpoints=[{"line": 2}])
            dap.request("configurationDone")
            dap.wait("response", "attach", attach)
            stopped = dap.wait("event", "stopped")
            assert stopped["body"]["reason"] == "breakpoint"
            time.sleep(TIMEOUT_S * 2)           # stopped for twice the function's Timeout
            assert not results                  # still waiting on the debugger
            dap.request("continue", threadId=stopped["body"]["threadId"])
            caller.join(60)
            dap.send("disconnect", terminateDebuggee=False)
        finally:
            dap.close()
        warm = engine.invoke("Fn", b'{"n": 1}')   # the same environment, no client needed
    (result,) = results
    assert result.function_error is None, result.logs
    assert json.loads(result.payload) == {"answer": 42}
    assert result.report.duration_ms > TIMEOUT_S * 1000   # longer than Timeout, not timed out
    assert json.loads(warm.payload) == {"answer": 2} and not warm.cold


def test_debugging_a_function_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    spec = FunctionSpec("Fn", "app.handler", tmp_path, runtime=RUNTIME)
    with pytest.raises(UsageError, match="cannot debug Other: not a function here"):
        LocalLambda({"Fn": spec}, debug=Debugger("Other", 5678))
