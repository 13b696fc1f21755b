"""Text-preserving edits (sam/edit.py): set values, keep every other character."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from lambdalite.errors import UsageError
from lambdalite.sam import edit
from lambdalite.sam.decode import decode
from lambdalite.sam.errors import TemplateError

WANTED = {"MemorySize": 3008, "Environment": {"Variables": {"V": "dynamic", "N": "1024"}}}


def edited(text: str, values=WANTED) -> str:
    root = edit.compose(text, "t.yaml")
    return edit.apply(text, edit.set_values(text, root, values, where="t"))


def test_replaces_in_place_and_keeps_tags_comments_and_order():
    text = ("# head\nCodeUri: !Ref Code  # why\nMemorySize: 512  # MB\nEnvironment:\n"
            "  Variables:\n    V: float32\n    S: !Sub '${AWS::Region}-x'\n")
    new = edited(text)
    assert new == ("# head\nCodeUri: !Ref Code  # why\nMemorySize: 3008  # MB\nEnvironment:\n"
                   "  Variables:\n    N: \"1024\"\n    V: dynamic\n    S: !Sub '${AWS::Region}-x'\n")
    doc = decode(new, "t")
    assert doc["Environment"]["Variables"] == {"N": "1024", "V": "dynamic",
                                               "S": {"Fn::Sub": "${AWS::Region}-x"}}


def test_inserts_missing_blocks_at_the_mappings_indentation():
    text = "Resources:\n    Fn:\n        Handler: h.h\n"
    root = edit.compose(text, "t")
    fn = edit.get(root, "Resources")
    new = edit.apply(text, edit.set_values(text, fn, {"Fn": WANTED}, where="R", indent=4))
    assert new == ("Resources:\n    Fn:\n        MemorySize: 3008\n        Environment:\n"
                   "            Variables:\n                V: dynamic\n"
                   "                N: \"1024\"\n        Handler: h.h\n")


def test_flow_mappings_and_json_stay_json():
    text = json.dumps({"Properties": {"Handler": "h.h", "Environment": {}}}, indent=1)
    new = edited(text, {"Properties": WANTED})
    assert json.loads(new)["Properties"] == {
        "MemorySize": 3008, "Handler": "h.h",
        "Environment": {"Variables": {"V": "dynamic", "N": "1024"}}}


def test_a_value_that_is_not_a_mapping_is_left_to_the_user():
    text = "Environment: !If [Prod, {Variables: {}}, !Ref AWS::NoValue]\n"
    with pytest.raises(UsageError, match=r"t.Environment is `!If .*not a mapping: set "
                                         r"Variables.V=dynamic, Variables.N=1024 there by hand"):
        edited(text)
    with pytest.raises(UsageError, match="MemorySize is `|`: set it to 3008 by hand"):
        edited("MemorySize: |\n  512\n")


def test_replacing_an_intrinsic_says_what_it_held():
    text = "MemorySize: !Ref Mem\n"
    root = edit.compose(text, "t")
    (e,) = edit.set_values(text, root, {"MemorySize": 3008}, where="t")
    assert e.old == "t.MemorySize: !Ref Mem" and edit.apply(text, [e]) == "MemorySize: 3008\n"


def test_every_form_of_intrinsic_is_replaced_whole():
    text = ("A: {Ref: Mem}\nB:\n  Fn::Select: [1, [x, y]]\nC: !Select\n  - 1\n  - [x, y]\n"
            "D: !Ref Mem  # why\nE: 1\n")
    root = edit.compose(text, "t")
    edits = edit.set_values(text, root, {"A": 1, "B": "b", "C": "c", "D": 4}, where="t")
    assert edit.apply(text, edits) == "A: 1\nB:\n  b\nC: c\nD: 4  # why\nE: 1\n"
    assert [e.old for e in edits if e.intrinsic] == [
        "t.A: {Ref: Mem}", "t.B: Fn::Select: [1, [x, y]]", "t.C: !Select - 1 - [x, y]",
        "t.D: !Ref Mem"]
    assert decode(edit.apply(text, edits), "t") == {"A": 1, "B": "b", "C": "c", "D": 4, "E": 1}


def test_not_yaml_or_not_a_mapping_is_a_template_error_with_the_line():
    with pytest.raises(TemplateError, match=r"t.yaml:2: the template is not valid YAML"):
        edit.compose("a: 1\n b: 2\n", "t.yaml")
    with pytest.raises(TemplateError, match="not a YAML mapping"):
        edit.compose("- a\n", "t.yaml")


# A template as people write them: four-space indentation, "- item" under its key, a leading
# "---", True, ~, and a flow mapping with spaces inside its braces.
HAND_WRITTEN = """\
---
Resources:
    Fn:   # four-space indent
        Type: AWS::Serverless::Function
        Properties:
            Handler:    app.handler
            Runtime: "python3.12"
            MemorySize: 512
            Policies:
                - AWSLambdaBasicExecutionRole
            Events: { Api: { Type: Api, Properties: { Path: /a, Method: post } } }
            Tracing: ~
            AutoPublishCodeSha256: True
"""


def test_only_the_edited_value_changes_in_a_hand_written_template(tmp_path: Path):
    path = tmp_path / "template.yaml"
    path.write_text(HAND_WRITTEN)
    change = edit.set_function_values(path, memory_mb=3008, environment={"V": "int8"})
    assert change.functions == ("Fn",)
    assert path.read_text() == HAND_WRITTEN.replace(
        "            Handler:    app.handler\n",
        "            Environment:\n                Variables:\n                    V: int8\n"
        "            Handler:    app.handler\n").replace("MemorySize: 512", "MemorySize: 3008")


def test_why_not_ruamels_round_trip():
    """What sam/edit.py's docstring says: ruamel.yaml's load-set-dump changes lines that were not
    edited, and a pretty-printed JSON template comes back as one line that is not JSON. If a
    ruamel.yaml release stops doing that, edit.py can be replaced by its round trip."""
    yaml = YAML()
    yaml.preserve_quotes = True
    doc = yaml.load(HAND_WRITTEN)
    doc["Resources"]["Fn"]["Properties"]["MemorySize"] = 3008
    out = io.StringIO()
    yaml.dump(doc, out)
    changed = set(HAND_WRITTEN.splitlines()) - set(out.getvalue().splitlines())
    assert len(changed) > 1     # more than the MemorySize line
    text = json.dumps({"Resources": {"Fn": {"Properties": {"MemorySize": 512}}}}, indent=2)
    doc = yaml.load(text)
    doc["Resources"]["Fn"]["Properties"]["Environment"] = {"Variables": {"V": "int8"}}
    out = io.StringIO()
    yaml.dump(doc, out)
    with pytest.raises(json.JSONDecodeError):
        json.loads(out.getvalue())


def test_a_json_template_stays_json(tmp_path: Path):
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"Resources": {"Fn": {
        "Type": "AWS::Serverless::Function",
        "Properties": {"Handler": "a.h", "Runtime": "python3.12", "MemorySize": 512}}}},
        indent=4))
    edit.set_function_values(path, memory_mb=2048, environment={"V": "float16"})
    props = json.loads(path.read_text())["Resources"]["Fn"]["Properties"]
    assert props == {"Environment": {"Variables": {"V": "float16"}}, "Handler": "a.h",
                     "Runtime": "python3.12", "MemorySize": 2048}


def test_the_named_function_only_and_clear_errors(tmp_path: Path):
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  A:\n    Type: AWS::Serverless::Function\n"
                    "    Properties: {Handler: a.h}\n  B:\n    Type: AWS::Serverless::Function\n"
                    "    Properties: {Handler: b.h}\n")
    assert edit.set_function_values(path, memory_mb=256, environment={},
                                    function="B").functions == ("B",)
    assert "Properties: {Handler: a.h}" in path.read_text()
    with pytest.raises(TemplateError, match=r"has no AWS::Serverless::Function named 'C' "
                                            r"\(it has A, B\)"):
        edit.set_function_values(path, memory_mb=256, environment={}, function="C")


def test_a_function_build_and_local_refuse_is_refused_unchanged(tmp_path: Path):
    text = ("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
            "      Handler: a.h\n      Timeout: 2.5\n")
    path = tmp_path / "template.yaml"
    path.write_text(text)
    with pytest.raises(TemplateError, match=rf"{path}:6: Fn: Timeout must be a whole number"):
        edit.set_function_values(path, memory_mb=256, environment={"V": "int8"})
    assert path.read_text() == text
    # A MemorySize out of bounds is what the edit replaces: then the template is usable.
    path.write_text(text.replace("Timeout: 2.5", "MemorySize: 64"))
    edit.set_function_values(path, memory_mb=256, environment={})
    assert "MemorySize: 256" in path.read_text()
