"""start-lambda's GetFunctionConfiguration and UpdateFunctionConfiguration, through boto3's own
Lambda client (its validation, its parsing, its ``function_updated`` waiter) against the real
server and engine on port 0."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdalite.local.engine import LocalLambda
from lambdalite.local.engine_types import FunctionSpec, Report
from lambdalite.local.interpreters import HOST_VERSION
from lambdalite.local.invoke_api import InvokeAPI

HANDLERS = Path(__file__).resolve().parents[2] / "fixtures" / "handlers"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:Echo"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def server() -> Iterator[InvokeAPI]:
    spec = FunctionSpec("Echo", "echo.handler", HANDLERS, runtime=f"python{HOST_VERSION}",
                        memory_mb=256, timeout_s=3.0, environment={"GREETING": "hello"})
    with LocalLambda({"Echo": spec}, idle_timeout_s=600) as engine:
        api = InvokeAPI(engine, port=0, function_names={"echo-fn": "Echo"})
        api.start()
        yield api
        api.stop()


@pytest.fixture
def client(server: InvokeAPI):
    return boto3.client("lambda", endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x",
                        config=Config(retries={"max_attempts": 1}, read_timeout=30))


def invoke(client) -> tuple[dict, Report]:
    response = client.invoke(FunctionName="Echo", LogType="Tail")
    report = Report.parse(base64.b64decode(response["LogResult"]).decode())
    assert report is not None
    return json.loads(response["Payload"].read()), report


def error_of(call) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"],
            response["Error"]["Message"])


def test_get_function_configuration_as_boto3_parses_it(client) -> None:
    for name in ("Echo", "echo-fn", ARN):
        config = client.get_function_configuration(FunctionName=name)
        assert config["FunctionArn"] == ARN and config["FunctionName"] == "Echo"
        assert (config["MemorySize"], config["Timeout"]) == (256, 3)
        assert config["Environment"] == {"Variables": {"GREETING": "hello"}}
        assert (config["State"], config["LastUpdateStatus"]) == ("Active", "Successful")
        assert config["Runtime"] == f"python{HOST_VERSION}" and config["Handler"] == "echo.handler"
        assert config["Architectures"] == ["x86_64"] and config["Version"] == "$LATEST"
    assert client.get_function_configuration(FunctionName="Echo", Qualifier="$LATEST")


def test_update_recycles_the_environments_with_the_new_configuration(client) -> None:
    first, report = invoke(client)
    assert report.init_duration_ms is not None and report.memory_size_mb == 256
    warm, report = invoke(client)
    assert report.init_duration_ms is None and warm["pid"] == first["pid"]
    before = client.get_function_configuration(FunctionName="Echo")["RevisionId"]

    updated = client.update_function_configuration(
        FunctionName="Echo", MemorySize=512, Timeout=10,
        Environment={"Variables": {"GREETING": "bonjour", "FORCE_COLD": "1"}})
    assert updated["LastUpdateStatus"] == "InProgress" and updated["RevisionId"] != before
    client.get_waiter("function_updated").wait(FunctionName="Echo")
    config = client.get_function_configuration(FunctionName="Echo")
    assert (config["MemorySize"], config["Timeout"], config["LastUpdateStatus"]) == (
        512, 10, "Successful")

    cold, report = invoke(client)
    assert report.init_duration_ms is not None, "the next call after an update is a cold start"
    assert report.memory_size_mb == 512 and cold["pid"] != first["pid"]
    assert cold["env"]["GREETING"] == "bonjour"
    assert cold["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"


def test_environment_replaces_every_variable_and_an_empty_one_clears_them(client) -> None:
    client.update_function_configuration(FunctionName="Echo", Environment={})
    assert "Environment" not in client.get_function_configuration(FunctionName="Echo")
    assert invoke(client)[0]["env"]["GREETING"] is None


def test_revision_id_must_be_the_latest(client) -> None:
    revision = client.get_function_configuration(FunctionName="Echo")["RevisionId"]
    client.update_function_configuration(FunctionName="Echo", Description="one",
                                         RevisionId=revision)
    assert client.get_function_configuration(FunctionName="Echo")["Description"] == "one"
    status, code, message = error_of(lambda: client.update_function_configuration(
        FunctionName="Echo", Description="two", RevisionId=revision))
    assert (status, code) == (412, "PreconditionFailedException") and "Revision Id" in message


def test_unknown_function_is_resource_not_found(client) -> None:
    for call in (lambda: client.get_function_configuration(FunctionName="Nope"),
                 lambda: client.update_function_configuration(FunctionName="Nope", MemorySize=512),
                 lambda: client.get_function_configuration(FunctionName="Echo", Qualifier="3")):
        status, code, message = error_of(call)
        assert (status, code) == (404, "ResourceNotFoundException")
        assert "Function not found" in message


@pytest.mark.parametrize(("fields", "says"), [
    ({"MemorySize": 20480}, "MemorySize 20480 is not valid"),
    ({"Timeout": 901}, "Timeout 901 is not valid"),
    ({"Environment": {"Variables": {"AWS_REGION": "eu-west-1"}}},
     "Reserved keys used in this request: AWS_REGION"),
    ({"Environment": {"Variables": {"BIG": "x" * 5000}}}, "exceeded the 4KB limit"),
    ({"Environment": {"Variables": {"1BAD": "x"}}}, "1BAD are not valid"),
    ({"Handler": "other.handler"}, "does not change Handler"),
])
def test_invalid_updates_are_invalid_parameter_value_and_change_nothing(
        client, fields: dict, says: str) -> None:
    revision = client.get_function_configuration(FunctionName="Echo")["RevisionId"]
    status, code, message = error_of(
        lambda: client.update_function_configuration(FunctionName="Echo", **fields))
    assert (status, code) == (400, "InvalidParameterValueException") and says in message
    config = client.get_function_configuration(FunctionName="Echo")
    assert config["RevisionId"] == revision and config["MemorySize"] == 256
