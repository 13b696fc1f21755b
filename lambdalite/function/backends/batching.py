"""How a backend runs a request's rows, shared by the LiteRT and ONNX Runtime backends.

numpy only: each backend module imports its own runtime, this one none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np

Run = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]


def batching_mode(shapes: Sequence[Sequence[int]]) -> str:
    """resize: one run per request (every input's batch is free); loop: a fixed batch, slice by
    slice; as-sent: anything else (inputs without a shared batch dimension)."""
    firsts = {s[0] if len(s) else None for s in shapes}
    if firsts == {-1}:
        return "resize"
    if len(firsts) == 1 and None not in firsts:
        return "loop"
    return "as-sent"


class Port(Protocol):
    """What both backends bind each logical input to (their own Port classes)."""

    @property
    def logical(self) -> str: ...

    @property
    def shape(self) -> list[int]: ...


def run_request(run: Run, inputs: Mapping[str, np.ndarray], ports: Sequence[Port],
                mode: str) -> dict[str, np.ndarray]:
    """A request's inputs (by the ``ports``' logical names) through ``run``: at once, or in
    slices of the model's fixed batch (the first port's first dimension) when ``mode`` is loop."""
    arrays = {p.logical: inputs[p.logical] for p in ports}
    if mode != "loop":
        return run(arrays)
    first = ports[0].shape
    return run_in_slices(run, arrays, first[0] if first else 1)


def run_in_slices(run: Run, arrays: Mapping[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """``run`` over slices of ``size`` rows (a fixed-batch model), the outputs joined again."""
    rows = int(next(iter(arrays.values())).shape[0])
    parts = [run({k: pad(v[i : i + size], size) for k, v in arrays.items()})
             for i in range(0, rows, size)]
    return {k: np.concatenate([p[k] for p in parts])[:rows] for k in parts[0]}


def pad(x: np.ndarray, size: int) -> np.ndarray:
    """The last slice of a fixed-batch model, filled up with zero rows (dropped after)."""
    if x.shape[0] == size:
        return x
    return np.concatenate([x, np.zeros((size - x.shape[0], *x.shape[1:]), x.dtype)])
