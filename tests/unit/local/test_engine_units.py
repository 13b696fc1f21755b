"""Pure parts of the engine: limits plan, Lambda's environment, log lines, interpreter search."""

from __future__ import annotations

import os
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lambdalite.errors import UsageError
from lambdalite.lambda_facts import MB
from lambdalite.local.engine_types import FunctionSpec, Report
from lambdalite.local.environment import error_payload, lambda_environ, log_stream_name
from lambdalite.local.interpreters import HOST_VERSION, Interpreter, choose_interpreter, find_python
from lambdalite.local.limits import CFS_PERIOD_US, LimitsMode, limits_notice, plan_limits
from lambdalite.local.log_lines import exit_reason
from lambdalite.local.logs import invocation_log, make_sink


def test_cpu_share_follows_memory() -> None:
    one = plan_limits(1769, host_cpus=8)
    assert one.memory_bytes == 1769 * MB and one.cpu_quota_us == CFS_PERIOD_US
    small = plan_limits(128, host_cpus=8)
    assert small.vcpus == pytest.approx(128 / 1769, rel=0.01)
    assert plan_limits(10240, host_cpus=2).vcpus == 2.0   # never more than the host has


def test_cpu_is_throttled_in_lambdas_20_ms_periods() -> None:
    # At 1024 MB Lambda pauses a busy function every ~20 ms after ~11.6 ms of CPU (base.py):
    # the same share in the kernel's default 100 ms period would run 57.9 ms, then stall 42 ms.
    plan = plan_limits(1024, host_cpus=8)
    assert (plan.cpu_period_us, plan.cpu_quota_us) == (20_000, 11_577)
    assert plan_limits(3008, host_cpus=8).cpu_quota_us == 34_008   # 1.7 vCPU: over one period
    other = plan_limits(1024, host_cpus=8, period_us=100_000)   # an A/B run's other arm
    assert (other.cpu_period_us, other.cpu_quota_us) == (100_000, 57_886)
    assert other.vcpus == pytest.approx(plan.vcpus, rel=1e-4)


def test_notice_names_the_mechanism() -> None:
    assert "cgroup v1" in limits_notice(LimitsMode.CGROUP_V1)
    assert "no CPU cap" in limits_notice(LimitsMode.FALLBACK)


def test_lambda_environ_reserved_names_win_and_no_max_concurrency() -> None:
    spec = FunctionSpec("Fn", "app.handler", Path("/task"), runtime="python3.12", memory_mb=512,
                        environment={"MY_VAR": "1", "AWS_REGION": "nope",
                                     "AWS_LAMBDA_MAX_CONCURRENCY": "4"})
    interp = Interpreter("/usr/bin/python3.12", "3.12", ("/ric",))
    env = lambda_environ(spec, interp, "127.0.0.1:9", region="eu-west-1", log_stream="s",
                         host={"PATH": "/bin", "SECRET": "x"})
    assert env["MY_VAR"] == "1" and env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "AWS_LAMBDA_MAX_CONCURRENCY" not in env and "SECRET" not in env
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["PYTHONPATH"] == os.pathsep.join(["/task", "/ric"])
    assert env["LAMBDA_RUNTIME_DIR"] == "/ric" and env["_HANDLER"] == "app.handler"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512" and env["TZ"] == ":UTC"


def test_exit_reason_words_it_like_lambda() -> None:
    assert exit_reason(1) == "exit status 1"
    assert exit_reason(-9) == "signal: killed"


def test_error_payload_and_log_stream() -> None:
    assert b'"errorType": "Sandbox.Timedout"' in error_payload("r", "Sandbox.Timedout", "m")
    name = log_stream_name(datetime(2024, 5, 6, tzinfo=UTC))
    assert name.startswith("2024/05/06/[$LATEST]") and len(name.split("]")[1]) == 32


def test_invocation_log_order() -> None:
    report = Report("r1", 1.234, 2, 128, 20, 55.5)
    text = invocation_log(report, "hello", "init\n")
    assert text.splitlines() == ["init", "START RequestId: r1 Version: $LATEST", "hello",
                                 "END RequestId: r1", report.line()]


def test_make_sink_writes_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    sink = make_sink(path)
    assert sink is not None
    sink({"a": 1})
    sink({"b": 2})
    assert path.read_text().splitlines() == ['{"a": 1}', '{"b": 2}']


def test_find_python_prefers_host_then_pyenv(tmp_path: Path) -> None:
    assert find_python(HOST_VERSION, environ={}) == sys.executable
    exe = tmp_path / "versions" / "3.99.1" / "bin" / "python3.99"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    assert find_python("3.99", environ={"PYENV_ROOT": str(tmp_path), "PATH": ""}) == str(exe)
    assert find_python("3.98", environ={"PYENV_ROOT": str(tmp_path), "PATH": ""}) is None
    with pytest.raises(UsageError):
        find_python("python3", environ={})


def test_choose_interpreter_for_host_runtime_has_no_warning() -> None:
    chosen = choose_interpreter(f"python{HOST_VERSION}")
    assert chosen.is_host and chosen.warning is None and chosen.path == sys.executable
    with pytest.raises(UsageError):
        choose_interpreter("nodejs20.x")


def test_request_ids_are_uuid4_and_trace_headers_have_lambdas_shape():
    import re
    import uuid

    from lambdalite.local.engine import _ids

    pairs = [_ids() for _ in range(200)]
    for request_id, trace in pairs:
        parsed = uuid.UUID(request_id)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == request_id
        assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", trace)
    assert len({r for r, _ in pairs}) == len({t for _, t in pairs}) == 200
