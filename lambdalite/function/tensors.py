"""Step 2b, tensors: a request's ``"inputs"`` -> numpy arrays checked against the manifest.

    {"inputs": VALUE}                       the model's one input
    {"inputs": {"<name>": VALUE, ...}}      by name (needed when the model has several)
    VALUE = nested JSON list of numbers | {"npy": "<standard base64 of a .npy file>"}
    HTTP body with Content-Type application/x-npy: the raw .npy of a single-input model

Every mistake is an ``InvalidInput`` (400) that names the input, what it takes (shape with -1
for a free dimension, dtype) and what arrived; more rows than ``LAMBDALITE_MAX_BATCH`` is a
``BatchTooLarge`` (413) and a list too big for Lambda's payload limit a ``PayloadTooLarge``.

Values: JSON numbers (booleans only for a bool input). Integer inputs take integral numbers
within their type's range. NaN and Infinity (which Python's JSON parser accepts) are refused
for every input, float ones included: a model fed NaN answers NaN, which JSON cannot carry.
An ``.npy`` keeps its dtype: a float array for an integer input is refused, float64 for a
float32 input is cast (as numpy's ``same_kind`` rule allows), ints go into float inputs.
``np.load`` is never asked to unpickle (``allow_pickle=False``).
"""

from __future__ import annotations

import binascii
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lambdalite.errors import LambdaliteError
from lambdalite.function.compat import a2b_base64_strict
from lambdalite.function.errors import BatchTooLarge, InvalidInput, PayloadTooLarge
from lambdalite.manifest import InputSpec
from lambdalite.records import Record

NPY_KEY = "npy"
NPY_MAGIC = b"\x93NUMPY"
_WHITESPACE = b" \t\n\r\x0b\x0c"
# The fewest bytes a JSON number takes in a list: one digit and a comma.
_MIN_JSON_NUMBER_BYTES = 2


class NpyBytes(Record):
    """The raw bytes of a ``.npy`` file (an ``application/x-npy`` HTTP body)."""

    data: bytes


class TensorLimits(Record):
    max_batch: int
    max_payload_bytes: int


ErrorType = type[LambdaliteError]


def parse_inputs(
    raw: Any, specs: Sequence[InputSpec], limits: TensorLimits
) -> dict[str, np.ndarray]:
    """The request's ``"inputs"`` (or an x-npy body) as arrays by input name, each checked."""
    values = _by_name(raw, specs)
    known = {s.name: s for s in specs}
    out = {}
    for name, value in values.items():
        spec = known[name]
        where = f'inputs["{name}"]' if len(specs) > 1 or isinstance(raw, dict) else "inputs"
        try:
            array, from_json = to_array(value, where, limits)
        except InvalidInput as err:  # what came is named; now what the input takes
            raise InvalidInput(f"{err.message}; {takes(spec)}") from None
        out[name] = check(array, spec, where, limits.max_batch, from_json=from_json)
    return out


def _by_name(raw: Any, specs: Sequence[InputSpec]) -> dict[str, Any]:
    names = [s.name for s in specs]
    if isinstance(raw, dict) and not _is_npy_value(raw, names):
        unknown = [k for k in raw if k not in names]
        if unknown:
            raise InvalidInput(
                f"inputs has no input named {', '.join(map(repr, unknown))}; the model takes "
                f"{describe_inputs(specs)}"
            )
        if not raw:
            raise InvalidInput(f'"inputs" is empty; the model takes {describe_inputs(specs)}')
        return dict(raw)
    if len(specs) != 1:
        shape = '{"inputs": {' + ", ".join(f'"{n}": ...' for n in names) + "}}"
        raise InvalidInput(
            f"the model has {len(specs)} inputs: name each one, {shape} ({describe_inputs(specs)})"
        )
    return {names[0]: raw}


def _is_npy_value(raw: dict[str, Any], names: Sequence[str]) -> bool:
    return set(raw) == {NPY_KEY} and NPY_KEY not in names


def takes(spec: InputSpec) -> str:
    return f"the input {spec.name} takes {spec.dtype} {list(spec.shape)} (-1: any size)"


def describe_inputs(specs: Sequence[InputSpec]) -> str:
    return ", ".join(f"{s.name} ({s.dtype} {list(s.shape)})" for s in specs)


# ---- VALUE -> array -------------------------------------------------------------
def to_array(value: Any, where: str, limits: TensorLimits) -> tuple[np.ndarray, bool]:
    """(array, came from JSON numbers). Nothing about the model is checked here."""
    if isinstance(value, NpyBytes):
        return load_npy(value.data, where), False
    if isinstance(value, dict):
        if set(value) == {NPY_KEY}:
            return load_npy(npy_base64(value[NPY_KEY], where), where), False
        raise InvalidInput(
            f"{where} is an object with keys {sorted(map(str, value))}; send a nested list of "
            f'numbers or {{"npy": "<base64 of a .npy file>"}}'
        )
    if isinstance(value, str):
        raise InvalidInput(
            f"{where} is a string; send a nested list of numbers or "
            '{"npy": "<base64 of a .npy file>"}'
        )
    if isinstance(value, list):
        _check_json_size(value, where, limits)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput(where + _json_problem(value)) from None
    if array.dtype.kind not in "biuf":
        raise InvalidInput(where + _json_problem(value))
    return array, True


def npy_base64(text: Any, where: str) -> bytes:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f'{where}: "npy" must be the base64 text of a .npy file')
    body = text.encode("ascii", errors="replace")
    for attempt in (body, body.translate(None, _WHITESPACE)):  # line breaks: only when needed
        try:
            return a2b_base64_strict(attempt)
        except (binascii.Error, ValueError):
            continue
    raise InvalidInput(
        f'{where}: "npy" is not valid base64; send base64.b64encode(<the .npy bytes>)'
    )


def load_npy(data: bytes, where: str) -> np.ndarray:
    if not data.startswith(NPY_MAGIC):
        raise InvalidInput(
            f"{where} is not a .npy file (it does not start with the .npy magic); write it with "
            "numpy.save (an .npz or a pickle is not accepted)"
        )
    try:
        # read_array, not np.load: np.load would also open an .npz (zip) and return a mapping.
        return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError, TypeError) as exc:
        raise InvalidInput(
            f"{where} is not a readable .npy ({exc}); write it with numpy.save (object "
            "arrays are not accepted)"
        ) from None


def _check_json_size(value: list[Any], where: str, limits: TensorLimits) -> None:
    """A nested list whose numbers alone would exceed Lambda's payload limit as JSON.

    A direct invocation arrives parsed, so its size in bytes is gone: count the numbers
    along the first element of each level (exact unless ragged) at their fewest bytes."""
    count, node = 1, value
    while isinstance(node, list):
        count *= len(node)
        if not node:
            break
        node = node[0]
    least = count * _MIN_JSON_NUMBER_BYTES
    if least > limits.max_payload_bytes:
        raise PayloadTooLarge(
            f"{where} holds about {count} numbers: at least {least} bytes as JSON, over "
            f"Lambda's {limits.max_payload_bytes}-byte synchronous payload limit; send fewer "
            'rows, or the tensor as {"npy": ...} (4 bytes per float32 before base64)'
        )


def _json_problem(value: Any) -> str:
    """What is wrong with a list numpy could not turn into a number array (the slow path)."""
    try:
        found = _first_problem(value, ())
    except RecursionError:
        found = None
    if found is None:
        return " is not a nested list of numbers"
    path, problem = found
    return "".join(f"[{i}]" for i in path) + " " + problem


def _first_problem(node: Any, path: tuple[int, ...]) -> tuple[tuple[int, ...], str] | None:
    if isinstance(node, list):
        lengths = {len(x) if isinstance(x, list) else None for x in node}
        if len(lengths) > 1:
            sizes = [len(x) if isinstance(x, list) else "a number" for x in node]
            first = sizes[0]
            odd = next(i for i, s in enumerate(sizes) if s != first)
            return path, (
                f"is ragged: element 0 is {_size_text(first)} but element {odd} is "
                f"{_size_text(sizes[odd])}; every row must have the same length"
            )
        for i, child in enumerate(node):
            found = _first_problem(child, (*path, i))
            if found is not None:
                return found
        return None
    if node is None:
        return path, "is null; send numbers"
    if isinstance(node, bool):
        return None
    if isinstance(node, int):
        if not -(2**63) <= node < 2**64:
            return path, f"is {node}, too large for any tensor type"
        return None
    if isinstance(node, float):
        return None
    if isinstance(node, str):
        return path, f"is the string {node[:40]!r}; send numbers"
    return path, f"is {type(node).__name__ if not isinstance(node, dict) else 'an object'}; send numbers"


def _size_text(size: Any) -> str:
    return size if isinstance(size, str) else f"a list of {size}"


# ---- array -> the input's tensor --------------------------------------------------
def check(
    array: np.ndarray,
    spec: InputSpec,
    where: str,
    max_batch: int,
    *,
    from_json: bool = False,
    error: ErrorType = InvalidInput,
) -> np.ndarray:
    """``array`` as ``spec``'s dtype, C-contiguous, after every check; ``error`` is raised
    (InvalidInput for a client's tensor, HookError for what a preprocess hook returned)."""
    wants = takes(spec)
    got = list(array.shape)
    if array.ndim != len(spec.shape):
        hint = (
            "; a batch of rows: wrap a single example in a list"
            if array.ndim == len(spec.shape) - 1 and spec.shape[:1] in ([-1], [1])
            else ""
        )
        raise error(f"{where} has rank {array.ndim} (shape {got}); {wants}{hint}")
    for axis, (want, have) in enumerate(zip(spec.shape, got)):
        if want not in (-1, have):
            raise error(f"{where} has shape {got}; {wants}: dimension {axis} must be {want}")
        if have == 0:
            raise error(f"{where} has shape {got}: dimension {axis} is empty; {wants}")
    if spec.shape[:1] == [-1] and got[0] > max_batch:
        raise BatchTooLarge(
            f"{where} has {got[0]} rows; the limit is {max_batch} (LAMBDALITE_MAX_BATCH); "
            "split the batch"
        )
    return _cast(array, spec, where, wants, from_json, error)


def _cast(
    array: np.ndarray, spec: InputSpec, where: str, wants: str, from_json: bool, error: ErrorType
) -> np.ndarray:
    want = np.dtype(spec.dtype)
    kind = array.dtype.kind
    if kind not in "biuf":
        raise error(f"{where} has dtype {array.dtype}; {wants}")
    if want.kind == "b":
        if kind != "b":
            raise error(f"{where} holds {_kind_text(kind)}; {wants}: send true/false")
        return np.ascontiguousarray(array)
    if kind == "b":
        raise error(f"{where} holds true/false; {wants}: send numbers")
    if kind == "f":
        _check_finite(array, where, wants, error)
    if want.kind in "iu":
        if kind == "f":
            if not from_json:
                raise error(f"{where} is a .npy of dtype {array.dtype}; {wants}")
            whole = np.equal(np.mod(array, 1), 0)
            if not whole.all():
                first = np.argwhere(~whole)[0]
                raise error(f"{where}{_index(first)} is {array[tuple(first)]}, not an "
                            f"integer; {wants}")
        info = np.iinfo(want)
        low, high = array.min(), array.max()
        # A float bound for float values: float(info.max) rounds up to 2**63 for int64.
        above = high >= 2.0 ** (info.bits - (info.min < 0)) if kind == "f" else high > info.max
        if low < info.min or above:
            raise error(f"{where} holds values from {low} to {high}, outside {want}'s range "
                        f"{info.min}..{info.max}; {wants}")
        return np.ascontiguousarray(array, dtype=want)
    if kind == "f" and not np.can_cast(array.dtype, want, casting="same_kind"):
        raise error(f"{where} has dtype {array.dtype}; {wants}")
    with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below
        out = np.ascontiguousarray(array, dtype=want)
    if want.itemsize < array.dtype.itemsize or kind in "iu":
        _check_finite(out, where, wants, error, f"too large for {want}")
    return out


def _check_finite(array: np.ndarray, where: str, wants: str, error: ErrorType,
                  why: str = "") -> None:
    finite = np.isfinite(array)
    if finite.all():
        return
    first = np.argwhere(~finite)[0]
    problem = why or f"{array[tuple(first)]}"
    raise error(f"{where}{_index(first)} is {problem}; {wants}, finite numbers only (NaN and "
                "Infinity are refused)")


def _index(position: Any) -> str:
    return "".join(f"[{int(i)}]" for i in position)


def _kind_text(kind: str) -> str:
    return {"i": "integers", "u": "integers", "f": "numbers"}.get(kind, kind)


def check_batch(arrays: Mapping[str, np.ndarray], specs: Sequence[InputSpec],
                error: ErrorType = InvalidInput) -> int:
    """Inputs with a free batch dimension must agree on it; the batch size (1 if none)."""
    rows = {s.name: int(arrays[s.name].shape[0]) for s in specs
            if s.name in arrays and s.shape[:1] == [-1]}
    if len(set(rows.values())) > 1:
        shown = ", ".join(f"{name} has {n}" for name, n in rows.items())
        raise error(f"the inputs disagree on the batch size ({shown} rows); send the same "
                    "number of rows for each")
    if rows:
        return next(iter(rows.values()))
    first = next(iter(arrays.values()), None)
    return int(first.shape[0]) if first is not None and first.ndim else 1
