"""``bench --remote`` against ``lambdalite local start-lambda`` on port 0, through boto3 (the
code path a deployed function takes: no AWS account is reachable here). The function is the
bundled MNIST model's int8 package; the sweep is small (two MemorySizes, one cold start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from lambdalite import envvars
from lambdalite.benchmark.remote import (
    RemoteError,
    RemoteOptions,
    RemoteResult,
    _local_config,
    bench_remote,
)
from lambdalite.benchmark.remote_table import render_remote
from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec
from lambdalite.local.invoke_api import InvokeAPI
from lambdalite.progress import Callback

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
FUNCTION = "MnistFunction"
ORIGINAL = {"MemorySize": 1024,
            "Environment": {"Variables": {envvars.VARIANT: "int8", "GREETING": "kept"}}}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
               "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture(scope="module")
def package(mnist_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from lambdalite.bundle.api import PackageOptions, build_package

    result = build_package(PackageOptions(
        model_dir=mnist_model_dir, out_dir=tmp_path_factory.mktemp("pkg"), variant="int8",
        runtime="python3.11", arch="x86_64"))
    return result.task_root.resolve(), result.handler


@pytest.fixture
def endpoint(package: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    task_root, handler = package
    spec = FunctionSpec(FUNCTION, handler, task_root, runtime="python3.11", memory_mb=1024,
                        timeout_s=30.0,
                        environment=dict(ORIGINAL["Environment"]["Variables"]))  # type: ignore[index]
    with LocalLambda({FUNCTION: spec}, idle_timeout_s=600) as engine:
        api = InvokeAPI(engine, port=0)
        api.start()
        yield api.url
        api.stop()


def configuration(url: str) -> dict:
    client = boto3.client("lambda", endpoint_url=url, region_name="us-east-1")
    config = client.get_function_configuration(FunctionName=FUNCTION)
    return {"MemorySize": config["MemorySize"], "Environment": config.get("Environment")}


def options(url: str, tmp_path: Path, **kw: object) -> RemoteOptions:
    return RemoteOptions(**{"function": FUNCTION, "endpoint_url": url, "region": "us-east-1",
                            "memory_sizes": (512, 1024), "cold_starts": 1, "warm": 2,
                            "warmup": 0, "out": tmp_path, **kw})  # type: ignore[arg-type]


def test_sweep_forces_cold_starts_and_compares_with_the_local_run(endpoint: str,
                                                                  tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    result = bench_remote(options(endpoint, tmp_path),
                          progress=Callback(lambda _what, done, total: seen.append((done, total))))
    assert [c.memory_mb for c in result.cells] == [512, 1024]
    for cell in result.cells:
        assert cell.error is None, cell.error
        (cold,) = cell.cold
        assert cold.cold and cold.report.init_duration_ms is not None
        assert len(cell.warm) == 2 and not any(s.cold for s in cell.warm)
        assert {s.report.memory_size_mb for s in (*cell.cold, *cell.warm)} == {cell.memory_mb}
        assert cold.report.billed_duration_ms >= cold.report.init_duration_ms
        assert cell.cost("x86_64", 0.01) is not None
    assert configuration(endpoint) == ORIGINAL     # MemorySize and Environment put back
    assert result.original == ORIGINAL and result.architecture == "x86_64"
    assert seen[-1][0] == seen[-1][1]              # every unit counted, local run's too

    assert result.local_row == "int8" and result.local is not None   # the function's variant
    compared = result.to_dict()["comparison"]
    assert [c["memory_mb"] for c in compared] == [512, 1024]       # type: ignore[index]
    for c in compared:                                               # type: ignore[union-attr]
        assert c["warm_p50_ms"]["ratio"] > 0 and c["cold_start_ms"]["ratio"] > 0
    table = render_remote(result)
    kept = result.save(tmp_path / "remote.json")
    loaded = RemoteResult.load(kept)
    assert loaded == result and render_remote(loaded) == table   # the local run's result too
    assert RemoteResult.is_one(kept) and not RemoteResult.is_one(tmp_path / "missing.json")
    assert "| 512 MB |" in table and "remote/local" in table
    saved = json.loads(result.save(tmp_path / "r.json").read_text())
    assert saved["local"]["rows"][0]["row"] == "int8"


def test_ctrl_c_in_the_middle_puts_the_configuration_back(endpoint: str, tmp_path: Path) -> None:
    def interrupt(what: str, _done: int, _total: int | None) -> None:
        if "1024 MB: forcing cold start" in what:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bench_remote(options(endpoint, tmp_path, compare_local=False),
                     progress=Callback(interrupt))
    assert configuration(endpoint) == ORIGINAL


def test_a_failing_function_is_recorded_and_the_configuration_put_back(
        endpoint: str, tmp_path: Path) -> None:
    client = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1")
    broken = {envvars.VARIANT: "nope"}
    client.update_function_configuration(FunctionName=FUNCTION,
                                         Environment={"Variables": broken})
    result = bench_remote(options(endpoint, tmp_path, compare_local=False))
    for cell in result.cells:
        assert cell.error is not None and "nope" in cell.error and cell.warm == ()
    assert configuration(endpoint) == {"MemorySize": 1024,
                                       "Environment": {"Variables": broken}}
    assert "Remote errors" in render_remote(result)


def test_the_event_file_is_what_the_function_and_the_local_row_get(
        endpoint: str, tmp_path: Path) -> None:
    event = tmp_path / "bad-image.json"
    event.write_text(json.dumps({"image": "%%%"}))   # a direct invoke the function refuses
    result = bench_remote(options(endpoint, tmp_path, compare_local=False, event=event))
    assert str(event) in result.event
    for cell in result.cells:
        assert cell.error is not None and "not valid base64" in cell.error
    assert configuration(endpoint) == ORIGINAL
    local = _local_config(options(endpoint, tmp_path, event=event), Path("model"), "int8",
                          (1024,), (1, 0, 1))
    assert local.event == str(event)


def test_unknown_function_is_a_remote_error_naming_it(endpoint: str, tmp_path: Path) -> None:
    with pytest.raises(RemoteError, match="GetFunctionConfiguration of Nope failed: "
                                          "ResourceNotFoundException"):
        bench_remote(options(endpoint, tmp_path, function="Nope"))


def test_the_cli_as_a_user_runs_it(endpoint: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lambdalite", "bench", "--remote", FUNCTION, "--endpoint-url",
         endpoint, "--region", "us-east-1", "--memory", "1024", "--cold", "1", "--warm", "1",
         "--warmup", "0", "--no-local", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, **CREDENTIALS, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"# bench --remote {FUNCTION}" in proc.stdout and "| 1024 MB |" in proc.stdout
    saved = tmp_path / f"bench-remote-{FUNCTION}.json"
    data = json.loads(saved.read_text())
    assert data["local"] is None and data["cells"][0]["cold"][0]["cold"] is True
    table = (tmp_path / f"bench-remote-{FUNCTION}.md").read_text()
    again = subprocess.run(   # the saved result's table again, nothing measured
        [sys.executable, "-m", "lambdalite", "bench", "--from-json", str(saved), "--out",
         str(tmp_path / "again")], capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200"})
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "again" / f"bench-remote-{FUNCTION}.md").read_text() == table
    assert table in again.stdout and f"results: {saved} (read)" in again.stdout
    bad = subprocess.run([sys.executable, "-m", "lambdalite", "bench", "--region", "x"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "go with --remote" in bad.stderr
