"""The local Lambda engine with real awslambdaric processes: cold/warm, failures, limits, pools.

Functions are 128 MB (CPU share 128/1769 vCPU under cgroups) with small timeouts, and use the
one-file handlers of tests/fixtures/handlers.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import EnvState, FunctionSpec
from lambdalite.local.errors import RequestTooLarge, ResourceNotFound, TooManyRequests
from lambdalite.local.interpreters import HOST_VERSION
from lambdalite.local.limits import LimitsMode

HANDLERS = Path(__file__).resolve().parents[2] / "fixtures" / "handlers"
RUNTIME = f"python{HOST_VERSION}"   # the host's Python: no interpreter fallback warning
pytestmark = pytest.mark.timeout(120)


def fn(name: str, handler: str, **kw: object) -> FunctionSpec:
    kw.setdefault("memory_mb", 128)
    kw.setdefault("timeout_s", 3.0)
    return FunctionSpec(name, handler, HANDLERS, runtime=RUNTIME, **kw)  # type: ignore[arg-type]


FUNCTIONS = [
    fn("Echo", "echo.handler", environment={"GREETING": "hi", "AWS_REGION": "xx-nope-1"}),
    fn("Sleepy", "sleepy.handler", timeout_s=0.5),
    fn("Crash", "crash.handler"),
    # Under the cap (128 MB: 1/14 of a vCPU) touching 128 MB can take seconds on a busy
    # machine; the timeout must not be what ends it.
    fn("Hog", "hog.handler", timeout_s=30.0),
    fn("InitHog", "init_hog.handler", timeout_s=30.0, environment={"INIT_HOG_MB": "300"}),
    fn("ImportError", "import_error.handler"),
    fn("Raises", "raises.handler"),
    fn("Big", "big_response.handler", memory_mb=256),
    fn("Chatty", "chatty.handler"),
    fn("Pair", "sleepy.handler", reserved_concurrency=2),
    fn("Spinner", "spinner.handler", memory_mb=1769),
    fn("Burn256", "burn.handler", memory_mb=256),
    fn("Burn1769", "burn.handler", memory_mb=1769),
]


@pytest.fixture(scope="module")
def records() -> list[dict[str, object]]:
    return []


@pytest.fixture(scope="module")
def engine(records: list[dict[str, object]]):
    with LocalLambda({f.name: f for f in FUNCTIONS}, log_sink=records.append,
                     idle_timeout_s=600) as eng:
        yield eng


def call(engine: LocalLambda, name: str, event: object = None, **kw: object):
    return engine.invoke(name, json.dumps(event or {}).encode(), **kw)  # type: ignore[arg-type]


def test_cold_then_warm_reuses_the_process(engine: LocalLambda, records) -> None:
    first = call(engine, "Echo", {"n": 1})
    second = call(engine, "Echo", {"n": 2})
    one, two = json.loads(first.payload), json.loads(second.payload)
    assert first.function_error is None and one["event"] == {"n": 1}
    assert first.cold and first.report.init_duration_ms is not None
    assert first.report.init_duration_ms > 0
    assert not second.cold and second.report.init_duration_ms is None
    assert "Init Duration" in first.logs and "Init Duration" not in second.logs
    assert one["pid"] == two["pid"] and first.environment_id == second.environment_id
    # Lambda's lines, in order, with the measured figures.
    lines = first.logs.splitlines()
    assert lines[0].startswith(f"INIT_START Runtime Version: python:{HOST_VERSION}.local\t"
                               "Runtime Version ARN: arn:aws:lambda:us-east-1::runtime:")
    assert lines[1] == f"START RequestId: {first.request_id} Version: $LATEST"
    assert not second.logs.startswith("INIT_START")
    assert lines[-2] == f"END RequestId: {first.request_id}"
    assert lines[-1] == first.report.line() and lines[-1].endswith(
        f"Init Duration: {first.report.init_duration_ms:.2f} ms")
    assert 0 < first.report.max_memory_used_mb < 128
    assert first.report.billed_duration_ms >= first.report.duration_ms
    mine = [r for r in records if r["request_id"] in (first.request_id, second.request_id)]
    assert [r["cold"] for r in mine] == [True, False]
    assert mine[0]["init_duration_ms"] == first.report.init_duration_ms
    assert mine[1]["max_memory_used_mb"] == second.report.max_memory_used_mb


def test_function_sees_lambdas_environment_and_context(engine: LocalLambda) -> None:
    result = call(engine, "Echo", client_context=json.dumps({"custom": {"k": "v"}}),
                  cognito_identity=json.dumps({"cognitoIdentityId": "id-1"}))
    body = json.loads(result.payload)
    env = body["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "Echo"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"   # reserved name wins
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{RUNTIME}"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["TZ"] == ":UTC" and env["GREETING"] == "hi"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/Echo"
    assert "[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_LAMBDA_MAX_CONCURRENCY"] is None
    assert env["LAMBDA_TASK_ROOT"] == str(HANDLERS) == body["cwd"]
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert body["request_id"] == result.request_id
    assert body["function_arn"].endswith(":function:Echo")
    assert 0 < body["remaining_ms"] <= 3000
    assert body["client_context"] == {"k": "v"} and body["identity_id"] == "id-1"


def test_logs_hold_this_invocations_output_only(engine: LocalLambda) -> None:
    first = call(engine, "Chatty", {"n": 1})
    second = call(engine, "Chatty", {"n": 2})
    assert first.logs.index("init: loading") < first.logs.index("START RequestId")
    assert f"hello from {first.request_id}" in first.logs and "logged 1" in first.logs
    assert "to stderr" in first.logs
    assert "init: loading" not in second.logs and f"hello from {first.request_id}" not in second.logs
    assert "logged 2" in second.logs


def test_timeout_is_reported_and_resets_the_environment(engine: LocalLambda) -> None:
    result = call(engine, "Sleepy", {"seconds": 30})
    error = json.loads(result.payload)
    assert result.function_error == "Unhandled" and result.error_type == "Sandbox.Timedout"
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in error["errorMessage"]
    assert "Task timed out after 0.50 seconds" in result.logs
    assert result.report.duration_ms == pytest.approx(500, abs=1)
    assert call(engine, "Sleepy", {"seconds": 0}).cold   # a fresh environment


def test_crash_is_an_exit_error_and_the_next_call_is_cold(engine: LocalLambda) -> None:
    result = call(engine, "Crash", {"code": 3})
    assert result.error_type == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in json.loads(result.payload)["errorMessage"]
    assert "about to exit" in result.logs
    assert engine.environments("Crash") == []
    again = call(engine, "Crash", {"code": 4})
    assert again.cold and again.environment_id != result.environment_id


def test_function_error_keeps_the_environment_warm(engine: LocalLambda) -> None:
    first = call(engine, "Raises")
    second = call(engine, "Raises")
    body = json.loads(first.payload)
    assert first.function_error == "Unhandled" and first.error_type == "BoomError"
    assert body["errorMessage"] == "boom" and body["stackTrace"]
    assert "[ERROR] BoomError: boom" in first.logs
    assert not second.cold and second.environment_id == first.environment_id


def _init_reports(result) -> list[str]:
    """The INIT_REPORT lines, checked to come before the START line as in Lambda's log."""
    lines = result.logs.splitlines()
    start = lines.index(f"START RequestId: {result.request_id} Version: $LATEST")
    reports = [line for line in lines if line.startswith("INIT_REPORT")]
    assert all(lines.index(line) < start for line in reports), result.logs
    return reports


def _init_ms(report_line: str) -> float:
    return float(report_line.split("Init Duration: ")[1].split(" ms")[0])


def test_init_error_is_rerun_inside_the_invoke_and_fails_like_lambda(engine: LocalLambda) -> None:
    result = call(engine, "ImportError")
    body = json.loads(result.payload)
    assert result.error_type == "Runtime.ImportModuleError" == body["errorType"]
    assert "Unable to import module 'import_error'" in body["errorMessage"]
    init, rerun = _init_reports(result)
    assert init.endswith("\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError")
    assert rerun.endswith("\tPhase: invoke\tStatus: error\tError Type: Runtime.ImportModuleError")
    # Both INITs ran and logged the import error; the re-run is this invocation's Duration.
    assert result.logs.count("[ERROR] Runtime.ImportModuleError: Unable to import module") == 2
    assert result.report.init_duration_ms is None and "Init Duration" not in result.report.line()
    assert result.report.duration_ms == pytest.approx(_init_ms(rerun), abs=0.01)
    assert engine.environments("ImportError") == []


def test_init_that_fails_once_succeeds_in_the_rerun(tmp_path: Path) -> None:
    spec = fn("Flaky", "init_fails.handler", environment={"INIT_FAIL_ONCE": str(tmp_path / "m")})
    with LocalLambda({"Flaky": spec}, idle_timeout_s=600) as eng:
        first = call(eng, "Flaky")
        second = call(eng, "Flaky")
    assert first.function_error is None, first.logs
    (init,) = _init_reports(first)
    assert init.endswith("\tPhase: init\tStatus: error\tError Type: RuntimeError")
    assert "RuntimeError: INIT failed on purpose" in first.logs
    assert first.cold and first.report.init_duration_ms is None
    assert not second.cold and json.loads(second.payload) == json.loads(first.payload)


def test_init_crash_is_rerun_and_reported_as_an_exit_error() -> None:
    spec = fn("InitExit", "init_fails.handler", environment={"INIT_FAIL_EXIT": "7"})
    with LocalLambda({"InitExit": spec}, idle_timeout_s=600) as eng:
        result = call(eng, "InitExit")
        assert eng.environments("InitExit") == []
    body = json.loads(result.payload)
    assert result.error_type == "Runtime.ExitError" == body["errorType"]
    assert body["errorMessage"] == f"RequestId: {result.request_id} Error: Runtime exited " \
                                   "with error: exit status 7"
    init, rerun = _init_reports(result)
    assert init.endswith("\tPhase: init\tStatus: error\tError Type: Runtime.ExitError")
    assert rerun.endswith("\tPhase: invoke\tStatus: error\tError Type: Runtime.ExitError")
    assert result.logs.count("init fails") == 2
    assert result.report.init_duration_ms is None


def test_out_of_memory_in_init_and_in_its_rerun_is_reported_as_out_of_memory(
        engine: LocalLambda) -> None:
    result = call(engine, "InitHog")
    assert result.error_type == "Runtime.OutOfMemory", result.logs   # was Runtime.ExitError
    assert json.loads(result.payload)["errorType"] == "Runtime.OutOfMemory"
    assert "Phase: init\tStatus: error\tError Type: Runtime.OutOfMemory" in result.logs
    assert "Phase: invoke\tStatus: error\tError Type: Runtime.OutOfMemory" in result.logs
    assert result.report.max_memory_used_mb == 128


def test_oversized_response_is_refused(engine: LocalLambda) -> None:
    result = call(engine, "Big", {"bytes": 7 * 1024 * 1024})
    body = json.loads(result.payload)
    assert result.error_type == "Function.ResponseSizeTooLarge" == body["errorType"]
    assert "6291556 bytes" in body["errorMessage"]
    fine = call(engine, "Big", {"bytes": 6 * 1024 * 1024 - 100})
    assert fine.function_error is None and len(fine.payload) == 6 * 1024 * 1024 - 98


def test_memory_cap_kills_and_reports_out_of_memory(engine: LocalLambda) -> None:
    result = call(engine, "Hog", {"mb": 300})
    assert result.error_type == "Runtime.OutOfMemory", result.logs
    assert result.report.max_memory_used_mb == 128
    after = call(engine, "Hog", {"mb": 8})
    assert after.cold and after.function_error is None
    assert after.report.max_memory_used_mb >= 8


def test_concurrency_uses_parallel_environments_and_throttles_beyond(engine: LocalLambda) -> None:
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(call(engine, "Pair", {"seconds": 1.5})))
               for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sum(
            e.state is EnvState.BUSY for e in engine.environments("Pair")) < 2:
        time.sleep(0.02)
    with pytest.raises(TooManyRequests) as throttled:
        call(engine, "Pair", {"seconds": 0})
    assert throttled.value.status == 429
    for t in threads:
        t.join()
    ids = {r.environment_id for r in results}  # type: ignore[attr-defined]
    assert len(ids) == 2 and all(r.function_error is None for r in results)  # type: ignore[attr-defined]
    assert call(engine, "Pair", {"seconds": 0}).environment_id in ids   # warm again


def test_freeze_stops_cpu_between_invocations(engine: LocalLambda) -> None:
    pid = json.loads(call(engine, "Spinner").payload)["pid"]
    time.sleep(0.3)
    before = _cpu_ticks(pid)
    time.sleep(0.5)
    assert _cpu_ticks(pid) - before <= 2   # a running spinner would burn ~50 ticks
    # Thawed while it runs: the spinner thread gets CPU during the next invocation.
    env = engine.environments("Spinner")[0]
    assert env.state is EnvState.IDLE


def test_an_environment_going_away_is_not_frozen_by_a_late_freeze() -> None:
    """The Runtime API's server thread freezes an environment a few ms after its last answer;
    once ``kill`` or ``shutdown`` has marked it DEFUNCT (then signals and thaws it), that freeze
    must not land: the dying runtime would stay frozen, its SIGTERM unseen."""
    with LocalLambda({"Echo": FUNCTIONS[0]}) as own:
        assert call(own, "Echo").function_error is None
        env = own.environments("Echo")[0]
        with env._lock:
            env.state = EnvState.DEFUNCT            # what kill/shutdown do first
        env._freeze()                               # what the late freeze calls
        assert not env._frozen and env.proc is not None and env.proc.returncode is None
        env.kill()


def test_cpu_share_follows_memory_size(engine: LocalLambda) -> None:
    """Lambda's CPU share: 256 MB is 256/1769 of a vCPU, so the same CPU-bound work takes
    several times longer than at 1769 MB (one vCPU). Relative, never a wall-clock target."""
    if engine.limits_mode is LimitsMode.FALLBACK:
        pytest.skip(f"no CPU cap on this machine: {engine.limits_notice}")

    def median_ms(name: str) -> float:
        call(engine, name, {"n": 1})   # the cold start is not measured
        runs = [call(engine, name, {"n": 2_000_000}) for _ in range(3)]
        assert all(r.function_error is None for r in runs), runs[0].logs
        return sorted(r.report.duration_ms for r in runs)[1]

    small, large = median_ms("Burn256"), median_ms("Burn1769")
    assert small >= 2 * large, (small, large)


def test_event_invocations_are_queued_and_run(engine: LocalLambda, records) -> None:
    queued = call(engine, "Echo", {"async": True}, invocation_type="Event")
    assert queued.payload == b"" and queued.function_error is None
    assert engine.wait_events(30)
    ran = [r for r in records if r["request_id"] == queued.request_id]
    assert len(ran) == 1 and ran[0]["invocation_type"] == "Event"


def test_dry_run_and_request_validation(engine: LocalLambda) -> None:
    before = len(engine.environments("Echo"))
    dry = call(engine, "Echo", invocation_type="DryRun")
    assert dry.payload == b"" and len(engine.environments("Echo")) == before
    with pytest.raises(ResourceNotFound):
        call(engine, "Nope")
    with pytest.raises(RequestTooLarge):
        engine.invoke("Echo", b"x" * (6 * 1024 * 1024 + 1))


@pytest.fixture(scope="module")
def slow_init_engine():
    """INIT limit 0.3 s, INIT sleeping 0.6 s (1 vCPU, so the interpreter's start is quick)."""
    slow = {"SLOW_INIT_S": "0.6"}
    specs = [fn("SlowInit", "slow_init.handler", memory_mb=1769, environment=slow),
             fn("SlowInitShort", "slow_init.handler", memory_mb=1769, environment=slow,
                timeout_s=0.5)]
    with LocalLambda({f.name: f for f in specs}, init_timeout_s=0.3, idle_timeout_s=600) as eng:
        yield eng


def test_init_over_the_limit_is_rerun_inside_the_first_invoke(slow_init_engine) -> None:
    first = call(slow_init_engine, "SlowInit")
    assert first.function_error is None and json.loads(first.payload) == {"ok": True}, first.logs
    lines = first.logs.splitlines()
    report = next(line for line in lines if line.startswith("INIT_REPORT"))
    assert report.endswith("\tPhase: init\tStatus: timeout")
    assert float(report.split("Init Duration: ")[1].split(" ms")[0]) >= 300
    assert lines.index(report) < lines.index(f"START RequestId: {first.request_id} Version: $LATEST")
    assert "Phase: invoke" not in first.logs
    # The re-run INIT (0.6 s of sleep) is part of this invoke: in Duration, no Init Duration.
    assert first.cold and first.report.init_duration_ms is None
    assert first.report.duration_ms >= 600
    assert first.report.billed_duration_ms >= first.report.duration_ms
    second = call(slow_init_engine, "SlowInit")
    assert not second.cold and second.environment_id == first.environment_id
    assert "INIT_REPORT" not in second.logs


def test_rerun_init_over_the_timeout_times_the_invoke_out(slow_init_engine) -> None:
    result = call(slow_init_engine, "SlowInitShort")
    assert result.error_type == "Sandbox.Timedout", result.logs
    assert "Task timed out after 0.50 seconds" in json.loads(result.payload)["errorMessage"]
    start = result.logs.index("START RequestId")
    assert -1 < result.logs.index("Phase: init\tStatus: timeout") < start
    assert -1 < result.logs.index("Phase: invoke\tStatus: timeout") < start
    assert "Task timed out after 0.50 seconds" in result.logs[start:]
    assert result.report.duration_ms == pytest.approx(500, abs=1)
    assert result.report.init_duration_ms is None
    assert slow_init_engine.environments("SlowInitShort") == []


def test_idle_environments_are_reclaimed() -> None:
    spec = fn("Echo", "echo.handler")
    with LocalLambda({"Echo": spec}, idle_timeout_s=0.3) as eng:
        first = call(eng, "Echo")
        assert first.function_error is None, first.logs
        pid = json.loads(first.payload)["pid"]
        deadline = time.monotonic() + 10
        while eng.environments("Echo") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert eng.environments("Echo") == []
        assert not Path(f"/proc/{pid}").exists() or _state(pid) == "Z"
        assert call(eng, "Echo").cold


def test_fallback_limits_report_out_of_memory_without_cgroups() -> None:
    specs = {"Hog": fn("Hog", "hog.handler")}
    with LocalLambda(specs, limits=LimitsMode.FALLBACK) as eng:
        assert "cgroups not writable" in eng.limits_notice
        result = call(eng, "Hog", {"mb": 300})
        assert result.error_type == "Runtime.OutOfMemory", result.logs
        assert call(eng, "Hog", {"mb": 8}).function_error is None


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime + stime


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_runtime_version_is_honoured_when_its_runtime_client_is_installed() -> None:
    from lambdalite.local.interpreters import choose_interpreter

    chosen = choose_interpreter("python3.12")
    if chosen.is_host:
        pytest.skip(f"no Python 3.12 with awslambdaric here: {chosen.warning}")
    spec = FunctionSpec("Echo", "echo.handler", HANDLERS, runtime="python3.12", memory_mb=256)
    with LocalLambda({"Echo": spec}) as eng:
        assert eng.warnings == []
        result = call(eng, "Echo")
        assert result.function_error is None, result.logs
        env = json.loads(result.payload)["env"]
        assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
        assert env["LAMBDA_RUNTIME_DIR"] == chosen.runtime_dir


def test_parallel_load_loses_and_duplicates_nothing(engine: LocalLambda) -> None:
    seen: list[tuple[int, object]] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        for i in range(offset, offset + 100):
            body = json.loads(call(engine, "Echo", {"i": i}).payload)
            with lock:
                seen.append((i, body["event"]["i"]))

    threads = [threading.Thread(target=worker, args=(k * 100,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == [(i, i) for i in range(400)]
    assert len(engine.environments("Echo")) <= 4


def test_each_call_reports_its_own_peak_and_max_memory_used_keeps_the_highest() -> None:
    """The per-call peak is read and reset once a call, as it ends: a light call after a
    spike reports a light invocation peak, while Max Memory Used keeps the spike."""
    records: list[dict[str, object]] = []
    with LocalLambda({"Spike": fn("Spike", "spike.handler", memory_mb=512, timeout_s=30.0)},
                     log_sink=records.append) as eng:
        light = [call(eng, "Spike", {"mb": 1}) for _ in range(2)]
        heavy = call(eng, "Spike", {"mb": 120})
        after = [call(eng, "Spike", {"mb": 1}) for _ in range(2)]
    assert all(r.function_error is None for r in [*light, heavy, *after])
    peaks = [r["invocation_peak_mb"] for r in records]
    assert isinstance(peaks[2], int) and all(isinstance(p, int) for p in peaks)
    assert peaks[2] >= peaks[1] + 100                 # the spike, in its own call
    assert peaks[4] < peaks[2] - 100                  # gone from a later call's peak
    assert heavy.report.max_memory_used_mb is not None
    assert after[-1].report.max_memory_used_mb == heavy.report.max_memory_used_mb
