"""The tensor parser: "inputs" -> checked arrays. Examples for each rule, Hypothesis for the edges."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lambdalite.errors import ClientError
from lambdalite.function.errors import BatchTooLarge, HookError, InvalidInput, PayloadTooLarge
from lambdalite.function.tensors import (
    NpyBytes,
    TensorLimits,
    check,
    check_batch,
    load_npy,
    parse_inputs,
)
from lambdalite.manifest import InputSpec

LIMITS = TensorLimits(max_batch=8, max_payload_bytes=10_000)
ROWS = InputSpec("rows", "float32", [-1, 3])
IDS = InputSpec("ids", "int8", [-1, 2])
FLAGS = InputSpec("flags", "bool", [-1])
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def b64(array: np.ndarray) -> dict[str, str]:
    return {"npy": base64.b64encode(npy(array)).decode()}


def test_one_input_by_value_or_by_name_as_json_or_npy() -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for raw in (x.tolist(), {"rows": x.tolist()}, b64(x), {"rows": b64(x)}, NpyBytes(npy(x))):
        (got,) = parse_inputs(raw, [ROWS], LIMITS).values()
        assert got.dtype == np.float32 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, x)


def test_an_input_named_npy_is_an_input_not_a_value() -> None:
    spec = InputSpec("npy", "float32", [-1, 1])
    assert parse_inputs({"npy": [[1.0]]}, [spec], LIMITS)["npy"].tolist() == [[1.0]]


def test_integer_and_bool_inputs() -> None:
    assert parse_inputs([[1, -2], [3.0, 4]], [IDS], LIMITS)["ids"].dtype == np.int8
    with pytest.raises(InvalidInput, match=r"inputs\[1\]\[0\] is 3.5, not an integer"):
        parse_inputs([[1, 2], [3.5, 4]], [IDS], LIMITS)
    with pytest.raises(InvalidInput, match="from -1 to 300, outside int8's range -128..127"):
        parse_inputs([[300, -1]], [IDS], LIMITS)
    with pytest.raises(InvalidInput, match="is nan; the input ids takes int8 .*finite numbers only"):
        parse_inputs([[1.0, float("nan")]], [IDS], LIMITS)
    assert parse_inputs([True, False], [FLAGS], LIMITS)["flags"].tolist() == [True, False]
    with pytest.raises(InvalidInput, match="holds integers; .*send true/false"):
        parse_inputs([1, 0], [FLAGS], LIMITS)


def test_several_inputs_must_be_named_and_agree_on_rows() -> None:
    with pytest.raises(InvalidInput, match=r'name each one, \{"inputs": \{"rows": \.\.\., "ids"'):
        parse_inputs([[1, 2, 3]], [ROWS, IDS], LIMITS)
    arrays = parse_inputs({"rows": [[1, 2, 3]], "ids": [[1, 2], [3, 4]]}, [ROWS, IDS], LIMITS)
    with pytest.raises(InvalidInput, match="rows has 1, ids has 2 rows"):
        check_batch(arrays, [ROWS, IDS])
    with pytest.raises(HookError):
        check_batch(arrays, [ROWS, IDS], HookError)
    assert check_batch({"rows": np.zeros((4, 3))}, [ROWS]) == 4


def test_limits() -> None:
    with pytest.raises(BatchTooLarge, match="9 rows; the limit is 8"):
        parse_inputs([[0, 0, 0]] * 9, [ROWS], LIMITS)
    with pytest.raises(PayloadTooLarge, match="about 6000 numbers: at least 12000 bytes"):
        parse_inputs([[0, 0, 0]] * 2000, [ROWS], LIMITS)


def test_npy_that_is_not_a_plain_array() -> None:
    with pytest.raises(InvalidInput, match="not a .npy file"):
        load_npy(b"\x80\x04pickle", "inputs")
    with pytest.raises(InvalidInput, match="not a readable .npy"):
        load_npy(npy(np.zeros((4, 3)))[:-8], "inputs")  # truncated data
    buf = io.BytesIO()
    np.savez(buf, x=np.zeros(3))
    with pytest.raises(InvalidInput, match="an .npz or a pickle is not accepted"):
        load_npy(buf.getvalue(), "inputs")


# ---- properties ------------------------------------------------------------------
finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@SETTINGS
@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 8), st.just(3)), elements=finite32))
def test_json_and_npy_of_a_fitting_array_give_it_back(x: np.ndarray) -> None:
    from_json = parse_inputs(x.tolist(), [ROWS], LIMITS)["rows"]
    from_npy = parse_inputs(b64(x), [ROWS], LIMITS)["rows"]
    np.testing.assert_array_equal(from_json, x)
    np.testing.assert_array_equal(from_npy, x)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.sampled_from(["npy", "rows", "ids", "x"]), children, max_size=3),
    max_leaves=30,
)


@SETTINGS
@given(json_values)
def test_any_json_is_a_fitting_tensor_or_a_client_error(value: object) -> None:
    try:
        arrays = parse_inputs(value, [ROWS, IDS], LIMITS)
    except ClientError as err:
        assert err.status in (400, 413) and err.message
        return
    for name, array in arrays.items():
        spec = ROWS if name == "rows" else IDS
        assert array.dtype == np.dtype(spec.dtype) and array.shape[1:] == (spec.shape[1],)
        assert np.isfinite(array.astype(np.float64)).all()


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_as_npy_are_a_fitting_tensor_or_invalid_input(data: bytes) -> None:
    for raw in (NpyBytes(data), NpyBytes(npy(np.zeros((1, 3), np.float32))[:10] + data)):
        try:
            (got,) = parse_inputs(raw, [ROWS], LIMITS).values()
        except InvalidInput:
            continue
        assert got.dtype == np.float32 and got.shape[1:] == (3,)


@SETTINGS
@given(hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(max_dims=3, max_side=4)))
def test_any_npy_array_is_cast_safely_or_refused(x: np.ndarray) -> None:
    for spec in (ROWS, IDS, FLAGS):
        try:
            got = check(x, spec, "inputs", 8)
        except InvalidInput as err:
            assert "the input" in err.message
            continue
        assert got.dtype == np.dtype(spec.dtype) and got.ndim == len(spec.shape)
        if x.dtype.kind in "iu" and spec.dtype == "int8":
            np.testing.assert_array_equal(got, x)  # integers only ever pass unchanged
