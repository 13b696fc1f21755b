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


# -- reading REPORT lines back (bench --remote reads AWS's log tail) ------------------------------

def test_report_reads_back_what_it_writes() -> None:
    for written in (Report(REQUEST_ID, 15.74, 147, 128, 56, 130.49),
                    Report(REQUEST_ID, 0.71, 1, 1024, None)):
        assert Report.parse(f"START RequestId: {REQUEST_ID}\n{written.line()}\n") == written


def test_report_as_aws_writes_it_with_trailing_tab_and_xray_fields() -> None:
    tail = ("START RequestId: a Version: $LATEST\nEND RequestId: a\n"
            "REPORT RequestId: a\tDuration: 2.56 ms\tBilled Duration: 3 ms\tMemory Size: 3008 MB\t"
            "Max Memory Used: 87 MB\tInit Duration: 612.00 ms\t\n"
            "XRAY TraceId: 1-5e-ab\tSegmentId: 7d\tSampled: true\t\n")
    assert Report.parse(tail) == Report("a", 2.56, 3, 3008, 87, 612.0)


def test_report_with_spaces_as_the_docs_show_it_and_restore_duration() -> None:
    line = ("REPORT RequestId: b Duration: 10.00 ms Billed Duration: 11 ms Memory Size: 512 MB "
            "Max Memory Used: 70 MB Restore Duration: 300.00 ms Billed Restore Duration: 100 ms")
    assert Report.parse(line) == Report("b", 10.0, 11, 512, 70, None, 300.0, 100)
    # SnapStart's figures, as the local engine writes them, read back alike.
    snap = Report("c", 2.5, 104, 256, 60, None, 101.25, 102)
    assert Report.parse(snap.line()) == snap


def test_report_of_one_request_among_several_and_none_when_cut_off() -> None:
    log = "\n".join(Report(r, 1.0, 1, 128, 40).line() for r in ("x", "y"))
    assert Report.parse(log, "x") == Report("x", 1.0, 1, 128, 40)
    assert Report.parse(log).request_id == "y"   # type: ignore[union-attr]
    assert Report.parse("...the tail ends here: no REPORT") is None


def test_report_without_its_figures_is_an_error_naming_them() -> None:
    import pytest

    with pytest.raises(ValueError, match="without Billed Duration, Memory Size"):
        Report.parse("REPORT RequestId: c\tDuration: 1.00 ms")
