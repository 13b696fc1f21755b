from __future__ import annotations

import json

import pytest

from lambdalite.bench import yaml_edit
from lambdalite.errors import UsageError
from lambdalite.local.cfn import load_yaml

WANTED = {"MemorySize": 3008, "Environment": {"Variables": {"V": "dynamic", "N": "1024"}}}


def edit(text: str, values=WANTED) -> str:
    root = yaml_edit.compose(text, "t.yaml")
    return yaml_edit.apply(text, yaml_edit.set_values(text, root, values, where="t"))


def test_replaces_in_place_and_keeps_tags_comments_and_order():
    text = ("# head\nCodeUri: !Ref Code  # why\nMemorySize: 512  # MB\nEnvironment:\n"
            "  Variables:\n    V: float32\n    S: !Sub '${AWS::Region}-x'\n")
    new = edit(text)
    assert new == ("# head\nCodeUri: !Ref Code  # why\nMemorySize: 3008  # MB\nEnvironment:\n"
                   "  Variables:\n    N: \"1024\"\n    V: dynamic\n    S: !Sub '${AWS::Region}-x'\n")
    doc = load_yaml(new, "t")
    assert doc["Environment"]["Variables"] == {"N": "1024", "V": "dynamic",
                                               "S": {"Fn::Sub": "${AWS::Region}-x"}}


def test_inserts_missing_blocks_at_the_mappings_indentation():
    text = "Resources:\n    Fn:\n        Handler: h.h\n"
    root = yaml_edit.compose(text, "t")
    fn = yaml_edit.get(root, "Resources")
    new = yaml_edit.apply(text, yaml_edit.set_values(text, fn, {"Fn": WANTED}, where="R",
                                                     indent=4))
    assert new == ("Resources:\n    Fn:\n        MemorySize: 3008\n        Environment:\n"
                   "            Variables:\n                V: dynamic\n"
                   "                N: \"1024\"\n        Handler: h.h\n")


def test_flow_mappings_and_json_stay_json():
    text = json.dumps({"Properties": {"Handler": "h.h", "Environment": {}}}, indent=1)
    new = edit(text, {"Properties": WANTED})
    assert json.loads(new)["Properties"] == {
        "MemorySize": 3008, "Handler": "h.h",
        "Environment": {"Variables": {"V": "dynamic", "N": "1024"}}}


def test_a_value_that_is_not_a_mapping_is_left_to_the_user():
    text = "Environment: !If [Prod, {Variables: {}}, !Ref AWS::NoValue]\n"
    with pytest.raises(UsageError, match=r"t.Environment is `!If .*not a mapping: set "
                                         r"Variables.V=dynamic, Variables.N=1024 there by hand"):
        edit(text)
    with pytest.raises(UsageError, match="MemorySize is `|`: set it to 3008 by hand"):
        edit("MemorySize: |\n  512\n")


def test_replacing_an_intrinsic_says_what_it_held():
    text = "MemorySize: !Ref Mem\n"
    root = yaml_edit.compose(text, "t")
    (e,) = yaml_edit.set_values(text, root, {"MemorySize": 3008}, where="t")
    assert e.old == "t.MemorySize: !Ref Mem" and yaml_edit.apply(text, [e]) == "MemorySize: 3008\n"


def test_not_yaml_or_not_a_mapping_is_a_usage_error():
    with pytest.raises(UsageError, match="t.yaml is not valid YAML"):
        yaml_edit.compose("a: [\n", "t.yaml")
    with pytest.raises(UsageError, match="not a YAML mapping"):
        yaml_edit.compose("- a\n", "t.yaml")
