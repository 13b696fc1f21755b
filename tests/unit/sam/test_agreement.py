"""The same template gives the same answer in `lambdalite build` (bundle/jobs.py), `lambdalite
local` (local/specs.py) and `lambdalite bench --pick --write-template` (benchmark/writeback.py):
the same MemorySize, Timeout, architecture and environment, or the same error at the same line.
Each template is fed to all three as a user would give it (numbers as strings, whole-number
floats, Globals, Parameters and !Ref, short and long intrinsic forms, JSON)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lambdalite.benchmark.pick import Verdict
from lambdalite.benchmark.writeback import write_template
from lambdalite.bundle.jobs import jobs_for
from lambdalite.bundle.options import BuildOptions
from lambdalite.local.specs import load_template
from lambdalite.sam.errors import TemplateError

ENV = {"LAMBDALITE_BACKEND": "litert", "LAMBDALITE_VARIANT": "int8"}
ENV_KEYS = tuple(ENV)


def template(props: str, *, globals_: str = "", parameters: str = "") -> str:
    """One function Fn (its code in src/, its model in model/) with these Properties."""
    head = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"
    if parameters:
        head += "Parameters:\n" + textwrap.indent(textwrap.dedent(parameters), "  ")
    if globals_:
        head += "Globals:\n  Function:\n" + textwrap.indent(textwrap.dedent(globals_), "    ")
    return head + textwrap.dedent("""\
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Metadata: {LambdaliteModelDir: ./model}
            Properties:
              Handler: app.handler
              CodeUri: src
        """) + textwrap.indent(textwrap.dedent(props), " " * 6)


# name -> (template text, what every reader sees: (MemorySize, Timeout, arch, environment))
READABLE: dict[str, tuple[str, tuple[int, int, str, dict[str, str]]]] = {
    "numbers-as-strings": (template("""\
        Runtime: python3.12
        MemorySize: "1024"
        Timeout: '30'
        Environment: {Variables: {LAMBDALITE_BACKEND: litert, LAMBDALITE_VARIANT: int8}}
        """), (1024, 30, "x86_64", ENV)),
    "whole-number-floats": (template("""\
        Runtime: python3.12
        MemorySize: 1024.0
        Timeout: 30.0
        Environment: {Variables: {LAMBDALITE_BACKEND: litert, LAMBDALITE_VARIANT: int8}}
        """), (1024, 30, "x86_64", ENV)),
    "globals": (template("""\
        Timeout: 20
        Environment:
          Variables: {LAMBDALITE_VARIANT: int8, OWN: f}
        """, globals_="""\
        Runtime: python3.12
        MemorySize: 2048
        Timeout: 10
        Architectures: [arm64]
        Environment:
          Variables: {LAMBDALITE_BACKEND: litert, LAMBDALITE_VARIANT: float32, SHARED: "1"}
        """), (2048, 20, "arm64", {**ENV, "SHARED": "1", "OWN": "f"})),
    "parameters-short-tags": (template("""\
        Runtime: !Ref Runtime
        MemorySize: !Ref Memory
        Timeout: !Ref Timeout
        Architectures: [!Ref Arch]
        Environment:
          Variables:
            LAMBDALITE_BACKEND: litert
            LAMBDALITE_VARIANT: !Select [1, [float32, int8]]
            STAGE: !Sub "${AWS::StackName}-${Stage}"
        """, parameters="""\
        Runtime: {Type: String, Default: python3.12}
        Memory: {Type: Number, Default: 3008}
        Timeout: {Type: Number, Default: "60"}
        Arch: {Type: String, Default: arm64}
        Stage: {Type: String, Default: dev}
        """), (3008, 60, "arm64", {**ENV, "STAGE": "local-dev"})),
    "parameters-long-forms": (template("""\
        Runtime: {Ref: Runtime}
        MemorySize: {Ref: Memory}
        Timeout: {"Fn::Select": [0, ["60"]]}
        Architectures: [{Ref: Arch}]
        Environment:
          Variables:
            LAMBDALITE_BACKEND: litert
            LAMBDALITE_VARIANT: {"Fn::Select": [1, [float32, int8]]}
            STAGE: {"Fn::Sub": "${AWS::StackName}-${Stage}"}
        """, parameters="""\
        Runtime: {Type: String, Default: python3.12}
        Memory: {Type: Number, Default: 3008}
        Arch: {Type: String, Default: arm64}
        Stage: {Type: String, Default: dev}
        """), (3008, 60, "arm64", {**ENV, "STAGE": "local-dev"})),
}
READABLE["json"] = (json.dumps({
    "Parameters": {"Memory": {"Type": "Number", "Default": "1536"}},
    "Globals": {"Function": {"Timeout": 15.0}},
    "Resources": {"Fn": {
        "Type": "AWS::Serverless::Function",
        "Metadata": {"LambdaliteModelDir": "./model"},
        "Properties": {"Handler": "app.handler", "CodeUri": "src", "Runtime": "python3.12",
                       "MemorySize": {"Ref": "Memory"}, "Architectures": ["x86_64"],
                       "Environment": {"Variables": ENV}}}}}, indent=2),
    (1536, 15, "x86_64", ENV))

# name -> (template text, the start of the one error every reader gives)
UNUSABLE: dict[str, tuple[str, str]] = {
    "fractional-timeout": (template("Runtime: python3.12\nTimeout: 2.5\n"),
                           "Fn: Timeout must be a whole number from 1 to 900, not 2.5"),
    "fractional-timeout-in-globals": (
        template("Runtime: python3.12\n", globals_="Timeout: '2.5'\n"),
        "Fn: Timeout must be a whole number from 1 to 900, not '2.5'"),
    "timeout-from-an-unresolvable-parameter": (
        template("Runtime: python3.12\nTimeout: !Ref Timeout\n",
                 parameters="Timeout: {Type: Number}\n"),
        "Fn: Timeout must be a whole number from 1 to 900, not !Ref Timeout, which cannot be "
        "resolved without AWS"),
    "two-architectures": (template("Runtime: python3.12\nArchitectures: [x86_64, arm64]\n"),
                          "Fn: Architectures must be [x86_64] or [arm64]"),
    "api-event-without-a-method": (
        template("Runtime: python3.12\nEvents: {E: {Type: Api, Properties: {Path: /a}}}\n"),
        "Fn: Events.E.Method must be an HTTP method or ANY"),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "model").mkdir()
    return tmp_path


def build_view(path: Path) -> tuple[int, int, str, dict[str, str]]:
    (job,) = jobs_for(BuildOptions(template=path, out_dir=path.parent / "build"))
    o = job.options
    assert job.function.environment[ENV_KEYS[0]] == o.backend
    assert job.function.environment.get(ENV_KEYS[1]) == o.variant
    return (o.memory_mb, o.timeout_s, o.arch, dict(job.function.environment))


def local_view(path: Path) -> tuple[Any, Any, str, dict[str, str]]:
    spec = load_template(path)["Fn"]
    return (spec.memory_mb, spec.timeout_s, spec.architecture, spec.environment)


def error_of(read: Any, path: Path) -> str:
    with pytest.raises(TemplateError) as err:
        read(path)
    return err.value.message


def pick(path: Path) -> None:
    write_template(path, Verdict("dynamic", 3008, (), ()))


@pytest.mark.parametrize("name", READABLE)
def test_build_local_and_bench_read_a_template_alike(project: Path, name: str) -> None:
    text, expected = READABLE[name]
    path = project / ("template.json" if name == "json" else "template.yaml")
    path.write_text(text)
    assert build_view(path) == local_view(path) == expected
    # The pick written by bench lands, and nothing else changes, for both readers.
    pick(path)
    memory, timeout, arch, env = expected
    after = (3008, timeout, arch, {**env, "LAMBDALITE_VARIANT": "dynamic"})
    assert build_view(path) == local_view(path) == after
    if name == "json":
        json.loads(path.read_text())     # still JSON


@pytest.mark.parametrize("name", UNUSABLE)
def test_build_local_and_bench_refuse_a_template_alike(project: Path, name: str) -> None:
    text, message = UNUSABLE[name]
    path = project / "template.yaml"
    path.write_text(text)
    errors = {error_of(build_view, path), error_of(local_view, path), error_of(pick, path)}
    assert len(errors) == 1, errors
    (error,) = errors
    line = int(error.split(":")[1])
    assert error.startswith(f"{path}:{line}: {message}")
    key = message.split(" ")[1].split(".")[0]           # the property the error names
    assert key in path.read_text().splitlines()[line - 1]
    assert path.read_text() == text                     # bench left it unchanged


def test_a_memory_size_aws_refuses_is_the_one_thing_the_pick_repairs(project: Path) -> None:
    path = project / "template.yaml"
    path.write_text(template("Runtime: python3.12\nMemorySize: 2.5\n"))
    message = "Fn: MemorySize must be a whole number from 128 to 10240, not 2.5"
    assert message in error_of(build_view, path) == error_of(local_view, path)
    pick(path)       # the pick replaces the MemorySize both refused
    assert build_view(path)[0] == local_view(path)[0] == 3008
