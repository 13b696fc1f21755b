"""Lambda's own log lines, one test per format, against the examples AWS documents.

AWS's pages render CloudWatch's tabs as spaces; the examples below carry the tabs where Lambda
writes them. Sources (AWS Lambda Developer Guide): "Log and monitor Python Lambda functions"
(START, END, REPORT), "Identifying runtime version changes" (INIT_START), "Lambda execution
environment" (INIT_REPORT); the timeout and runtime exit lines as CloudWatch shows them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lambdalite.local import log_lines
from lambdalite.local.engine_types import Report

REQUEST_ID = "8f507cfc-xmpl-4697-b07a-ac58fc914c95"


def test_start_line() -> None:
    assert log_lines.start(REQUEST_ID) == f"START RequestId: {REQUEST_ID} Version: $LATEST"


def test_end_line() -> None:
    assert log_lines.end(REQUEST_ID) == f"END RequestId: {REQUEST_ID}"


def test_report_line_of_a_cold_start_ends_with_init_duration() -> None:
    documented = (f"REPORT RequestId: {REQUEST_ID}\tDuration: 15.74 ms\tBilled Duration: 147 ms\t"
                  "Memory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms")
    assert log_lines.report(REQUEST_ID, 15.74, 147, 128, 56, 130.49) == documented
    assert Report(REQUEST_ID, 15.74, 147, 128, 56, 130.49).line() == documented


def test_report_line_of_a_warm_call_has_no_init_duration() -> None:
    line = Report(REQUEST_ID, 3.1, 4, 1024, 80).line()
    assert line == (f"REPORT RequestId: {REQUEST_ID}\tDuration: 3.10 ms\tBilled Duration: 4 ms\t"
                    "Memory Size: 1024 MB\tMax Memory Used: 80 MB")


def test_init_start_line() -> None:
    arn = ("arn:aws:lambda:eu-south-1::runtime:"
           "7b620fc2e66107a1046b140b9d320295811af3ad5d4c6a011fad1fa65127e9e6")
    assert log_lines.init_start("python:3.13.v14", arn) == (
        f"INIT_START Runtime Version: python:3.13.v14\tRuntime Version ARN: {arn}")


def test_init_report_lines_for_a_timeout_and_an_error() -> None:
    assert log_lines.init_report(1236.04, "init", "timeout") == (
        "INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: timeout")
    assert log_lines.init_report(1236.044, "invoke", "error", "Runtime.ExitError") == (
        "INIT_REPORT Init Duration: 1236.04 ms\tPhase: invoke\tStatus: error\t"
        "Error Type: Runtime.ExitError")


def test_timeout_line_is_timestamped_like_the_runtimes_own() -> None:
    at = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    assert log_lines.timed_out(REQUEST_ID, 3, now=at) == (
        f"2024-05-06T07:08:09.123Z {REQUEST_ID} Task timed out after 3.00 seconds")


def test_failure_lines_of_a_runtime_exit_and_an_out_of_memory_kill() -> None:
    exited = log_lines.runtime_exited(log_lines.exit_reason(3))
    assert log_lines.failure(REQUEST_ID, exited, "Runtime.ExitError") == (
        f"RequestId: {REQUEST_ID} Error: Runtime exited with error: exit status 3\n"
        "Runtime.ExitError")
    killed = log_lines.runtime_exited(log_lines.exit_reason(-9))
    assert log_lines.failure(REQUEST_ID, killed, "Runtime.OutOfMemory") == (
        f"RequestId: {REQUEST_ID} Error: Runtime exited with error: signal: killed\n"
        "Runtime.OutOfMemory")
