"""``lambdalite.records.Record``: behaves as the NamedTuples it replaced, and every record the
function and the shared modules define is one (a NamedTuple or dataclass there costs INIT)."""

from __future__ import annotations

import ast
import copy
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import lambdalite.function
from lambdalite.function import SHARED_MODULES
from lambdalite.records import Record, _RecordType


class Quantization(Record):
    scale: float = 0.0
    zero_point: int = 0


class Spec(Record):
    name: str
    shape: list[int]
    quantization: Quantization = Quantization()
    index: int = -1   # shadows tuple.index, as manifest.TensorSpec's does


def test_fields_by_name_and_index_defaults_and_tuple_behaviour() -> None:
    spec = Spec("x", [1, 28], index=3)
    assert (spec.name, spec.shape, spec.quantization, spec.index) == ("x", [1, 28],
                                                                      (0.0, 0), 3)
    assert spec[0] == "x" and spec[-1] == 3 and len(spec) == 4
    name, shape, _, index = spec
    assert (name, shape, index) == ("x", [1, 28], 3)
    assert Spec._fields == ("name", "shape", "quantization", "index")
    assert Spec._field_defaults == {"quantization": Quantization(), "index": -1}
    assert isinstance(spec, tuple)
    assert repr(spec) == ("Spec(name='x', shape=[1, 28], "
                          "quantization=Quantization(scale=0.0, zero_point=0), index=3)")
    assert Quantization(0.5, 3) == Quantization(zero_point=3, scale=0.5)
    assert hash(Quantization(0.5, 3)) == hash((0.5, 3))


def test_replace_asdict_make_copy_and_pickle() -> None:
    spec = Spec("x", [1])
    changed = spec._replace(name="y", index=0)
    assert type(changed) is Spec and changed == ("y", [1], Quantization(), 0)
    assert spec.name == "x"   # the original is unchanged
    assert spec._asdict() == {"name": "x", "shape": [1], "quantization": Quantization(),
                              "index": -1}
    assert Spec._make(["z", [2], Quantization(), 1]).name == "z"
    for twin in (copy.copy(spec), copy.deepcopy(spec), pickle.loads(pickle.dumps(spec))):
        assert type(twin) is Spec and twin == spec


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Spec(), "Spec() missing argument 'name'"),
    (lambda: Spec("x"), "Spec() missing argument 'shape'"),
    (lambda: Spec("x", [1], name="y"), "Spec() got two values for 'name'"),
    (lambda: Spec("x", [1], size=3), "Spec() has no field 'size'"),
    (lambda: Quantization(1.0, 2, 3), "Quantization() takes 2 arguments, 3 given"),
    (lambda: Spec("x", [1])._replace(size=3), "Spec has no field 'size'"),
    (lambda: Spec._make(["x"]), "Spec._make: 4 values needed, 1 given"),
])
def test_a_wrong_call_names_the_field(make, message) -> None:
    with pytest.raises(TypeError) as info:
        make()
    assert str(info.value) == message


def test_a_record_is_immutable_and_has_no_instance_dict() -> None:
    spec = Spec("x", [1])
    with pytest.raises(AttributeError):
        spec.name = "y"   # type: ignore[misc]
    with pytest.raises(AttributeError):
        spec.other = 1    # type: ignore[attr-defined]
    assert not hasattr(spec, "__dict__")


def test_class_definition_mistakes_are_refused() -> None:
    with pytest.raises(TypeError, match="field 'b' without a default follows 'a'"):
        _RecordType("Bad", (Record,), {"__annotations__": {"a": "int", "b": "int"}, "a": 1})
    with pytest.raises(TypeError, match="cannot add fields to another record's"):
        _RecordType("More", (Quantization,), {"__annotations__": {"extra": "int"}})
    # Python 3.14 keeps annotations in a function; a record module must not evaluate them
    with pytest.raises(TypeError, match="from __future__ import annotations"):
        _RecordType("Lazy", (Record,), {"__annotate__": lambda fmt: {"a": int}})


def test_class_variables_are_not_fields_and_a_subclass_keeps_its_base_fields() -> None:
    with_classvar = _RecordType("C", (Record,), {
        "__annotations__": {"a": "int", "limit": "ClassVar[int]"}, "limit": 3})
    assert with_classvar._fields == ("a",) and with_classvar.limit == 3

    class Named(Quantization):
        def describe(self) -> str:
            return f"{self.scale}/{self.zero_point}"

    assert Named._fields == Quantization._fields and Named(0.5, 2).describe() == "0.5/2"


@given(st.text(), st.lists(st.integers()), st.floats(allow_nan=False), st.integers(),
       st.integers())
def test_any_values_survive_construction_replace_and_make(name, shape, scale, zero, index
                                                          ) -> None:
    spec = Spec(name, shape, Quantization(scale, zero), index)
    assert Spec(**spec._asdict()) == spec == Spec._make(tuple(spec))
    assert spec._replace() == spec and spec._replace(index=index + 1).index == index + 1


def _shipped_files() -> list[Path]:
    package = Path(lambdalite.function.__file__).parents[1]
    shared = [package / f"{m.partition('.')[2] or '__init__'}.py" for m in SHARED_MODULES]
    return shared + sorted((package / "function").rglob("*.py"))


def _record_kinds(tree: ast.Module) -> list[str]:
    """How each class of a module is made: "Record", "NamedTuple", "dataclass", "namedtuple"."""
    kinds = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
            names |= {ast.unparse(d).split("(")[0].rsplit(".", 1)[-1]
                      for d in node.decorator_list}
            kinds += sorted(names & {"Record", "NamedTuple", "dataclass"})
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("namedtuple"):
            kinds.append("namedtuple")
    return kinds


def test_every_record_the_function_ships_is_a_record() -> None:
    # A typing.NamedTuple costs ~1.9 M instructions of INIT a class, a frozen dataclass ~4.3 M
    # (python3.12, callgrind; docs/BENCHMARKS.md), a Record ~0.1 M.
    kinds: dict[str, list[str]] = {}
    for path in _shipped_files():
        for kind in _record_kinds(ast.parse(path.read_text(), str(path))):
            kinds.setdefault(kind, []).append(path.name)
    assert sorted(kinds) == ["Record"], kinds
    assert len(kinds["Record"]) >= 20 and "manifest.py" in kinds["Record"]
    assert _record_kinds(ast.parse("class A(typing.NamedTuple): pass\n"
                                   "@dataclasses.dataclass(frozen=True)\nclass B: pass\n"
                                   "C = collections.namedtuple('C', 'x')")) == [
        "NamedTuple", "dataclass", "namedtuple"]
