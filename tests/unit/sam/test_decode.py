"""Template text -> document (sam/decode.py) and the intrinsics resolved without AWS."""

from __future__ import annotations

import json
import textwrap

import pytest

from lambdalite.sam.decode import Map, decode, describe
from lambdalite.sam.errors import TemplateError
from lambdalite.sam.intrinsics import Resolver


def test_every_short_form_tag_becomes_its_long_form() -> None:
    doc = decode(textwrap.dedent("""\
        a: !Ref X
        b: !GetAtt R.Arn
        c: !Sub [ "${V}", {V: 1} ]
        d: !If [Cond, 1, 2]
        e: !Equals [a, b]
        f: !Condition IsProd
        g: !Base64 {Ref: X}
        h: !Sub
          - "${A}-${B}"
          - {A: !Ref AWS::Region, B: !Select [1, [x, y]]}
        """), "t")
    assert doc["a"] == {"Ref": "X"}
    assert doc["b"] == {"Fn::GetAtt": ["R", "Arn"]}
    assert doc["c"] == {"Fn::Sub": ["${V}", {"V": 1}]}
    assert doc["d"] == {"Fn::If": ["Cond", 1, 2]}
    assert doc["e"] == {"Fn::Equals": ["a", "b"]}
    assert doc["f"] == {"Condition": "IsProd"}
    assert doc["g"] == {"Fn::Base64": {"Ref": "X"}}
    resolved = Resolver({}, {}).resolve(doc)
    assert resolved["c"] == "1" and resolved["d"] == {"Fn::If": ["Cond", 1, 2]}
    assert resolved["h"] == "us-east-1-y"
    assert describe(doc["b"]) == "!GetAtt R.Arn" and describe(doc["d"]) == "!If ['Cond', 1, 2]"


def test_no_value_removes_a_property() -> None:
    doc = decode("A: !Ref AWS::NoValue\nB: [1, !Ref AWS::NoValue, 3]\nC: x\n", "t")
    resolved = Resolver({}, {}).resolve(doc)
    assert resolved == {"B": [1, 3], "C": "x"}
    assert resolved.line_of("C") == 3 and resolved["B"].lines == [2, 2]


def test_every_key_and_item_knows_its_line() -> None:
    doc = decode("# comment\nResources:\n  Fn:\n    Type: X\n    Props:\n      - a\n      - b\n",
                 "t")
    fn = doc["Resources"]["Fn"]
    assert isinstance(fn, Map) and doc.line_of("Resources") == 2
    assert doc["Resources"].line_of("Fn") == 3 and fn.line_of("Type") == 4
    assert fn["Props"].lines == [6, 7]


def test_scalars_are_read_as_cloudformation_reads_them() -> None:
    """YAML 1.1 (yes/on are booleans, 0755 octal), but y and n stay text as in PyYAML."""
    doc = decode("a: yes\nb: off\nc: 0755\nd: [y, n]\ne: 2010-09-09\nf: 1.0\ng: '1024'\n", "t")
    assert doc == {"a": True, "b": False, "c": 493, "d": ["y", "n"], "e": "2010-09-09",
                   "f": 1.0, "g": "1024"}
    assert type(doc["c"]) is int and type(doc["f"]) is float


def test_json_is_read_with_its_lines_even_tab_indented() -> None:
    text = ('{\n\t"Resources": {\n\t\t"Fn": {\n\t\t\t"Type": "X",\n'
            '\t\t\t"Properties": {"A": "a\\/b"}\n\t\t}\n\t}\n}\n')
    assert json.loads(text)["Resources"]["Fn"]["Properties"] == {"A": "a/b"}
    doc = decode(text, "t.json")
    assert doc["Resources"]["Fn"]["Properties"] == {"A": "a/b"}
    assert doc["Resources"]["Fn"].line_of("Properties") == 5


@pytest.mark.parametrize(("text", "message"), [
    ("Resources:\n  A: 1\n  A: 2\n", r"t.yaml:3: the template is not valid YAML: found duplicate "
                                     r"key \"A\""),
    ("a: 1\n b: 2\n", r"t.yaml:2: the template is not valid YAML: mapping values are not allowed"),
    ("- a\n", "t.yaml: is not a YAML mapping"),
    ("", "t.yaml: is not a YAML mapping"),
])
def test_broken_text_is_a_template_error_with_the_line(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message) as err:
        decode(text, "t.yaml")
    assert err.value.exit_code == 2


def test_find_in_map_and_join_over_parameters() -> None:
    doc = decode("M: !FindInMap [Sizes, !Ref Stage, Memory]\nJ: !Join ['-', [a, !Ref Stage]]\n"
                 "U: !FindInMap [Sizes, prod, Memory]\n", "t")
    resolved = Resolver({"Stage": "dev"}, {"Sizes": {"dev": {"Memory": "512"}}}).resolve(doc)
    assert resolved["M"] == "512" and resolved["J"] == "a-dev"
    assert resolved["U"] == {"Fn::FindInMap": ["Sizes", "prod", "Memory"]}   # left as it is
