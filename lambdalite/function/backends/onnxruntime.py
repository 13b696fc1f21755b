"""ONNX Runtime backend: an ``onnxruntime.InferenceSession`` on the CPU, for the ``onnx_*``
variants that ``lambdalite convert --onnx`` writes.

Imported only when the chosen variant is an ONNX file (LAMBDALITE_BACKEND=onnxruntime, or an
``onnx_*`` LAMBDALITE_VARIANT): onnxruntime's import alone costs ~15-30 ms on top of numpy
(docs/FUNCTION.md), and a LiteRT package does not hold it.

The same contract as the LiteRT backend: inputs and outputs by the manifest's logical names
(each bound at INIT to the file's tensor of the variant's recorded name, else the only one),
free dimensions take what the request sends (ONNX Runtime needs no resize), a fixed batch runs
slice by slice, float outputs come back as float32.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnxruntime as ort

from lambdalite.errors import ModelError
from lambdalite.function.backends.batching import batching_mode, run_request
from lambdalite.manifest import TensorSpec, Variant
from lambdalite.records import Record

# ONNX element types as ONNX Runtime names them -> numpy.
_DTYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(int16)": "int16",
    "tensor(uint16)": "uint16", "tensor(int32)": "int32", "tensor(uint32)": "uint32",
    "tensor(int64)": "int64", "tensor(uint64)": "uint64", "tensor(bool)": "bool",
}


class OnnxPort(Record):
    """One logical input or output bound to one of the graph's tensors."""

    logical: str
    name: str                 # the graph's tensor name
    shape: list[int]          # -1 for a free dimension (ONNX's symbolic or unknown ones)
    dtype: str


def session_options(num_threads: int) -> Any:
    """What the function runs with: the LiteRT backend's thread count for the intra-op pool
    (not spinning), one inter-op thread (one request at a time), every graph optimization (its
    layout transforms are worth ~25 % of warm time on x86_64; docs/FUNCTION.md)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: its warnings would break the JSON log lines
    # Idle pool threads spin by default; under Lambda's CPU quota (MemorySize/1769 vCPU) that
    # burns the quota the run needs. Measured (large model, dynamic, 2 threads, this machine):
    # 36.7-38.5 ms CPU per run without spinning against 48.0-49.9 ms with it.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def open_session(model_path: str, num_threads: int = 1) -> Any:
    if not os.path.isfile(model_path):
        raise ModelError(f"model file {model_path} is missing; rebuild the package")
    try:
        return ort.InferenceSession(model_path, sess_options=session_options(num_threads),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/NotImplemented
        raise ModelError(f"ONNX Runtime {ort.__version__} could not load "
                         f"{os.path.basename(model_path)}: {exc}") from exc


def graph_ports(session: Any) -> tuple[list[OnnxPort], list[OnnxPort]]:
    """The graph's inputs and outputs, in order, under their own names."""
    def ports(args: Sequence[Any]) -> list[OnnxPort]:
        return [OnnxPort(a.name, a.name, _shape(a.shape), _DTYPES.get(a.type, a.type))
                for a in args]

    return ports(session.get_inputs()), ports(session.get_outputs())


class OnnxRuntimeBackend:
    name = "onnxruntime"

    def __init__(
        self,
        model_path: str,
        num_threads: int,
        variant: Variant | None = None,
        inputs: Sequence[str] | None = None,
        outputs: Sequence[str] | None = None,
    ) -> None:
        self._session = open_session(model_path, num_threads)
        self.model_path = model_path
        self.num_threads = num_threads
        file_in, file_out = graph_ports(self._session)
        self.inputs = _bind(file_in, inputs, variant.inputs if variant else None, "input",
                            model_path)
        self.outputs = _bind(file_out, outputs, variant.outputs if variant else None, "output",
                             model_path)
        self.input_shapes = {p.logical: p.shape for p in self.inputs}
        self.batching = batching_mode([p.shape for p in self.inputs])
        self._output_names = [p.name for p in self.outputs]

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return run_request(self._run, inputs, self.inputs, self.batching)

    def describe(self) -> dict[str, Any]:
        first = self.inputs[0]
        return {
            "backend": self.name,
            "model": os.path.basename(self.model_path),
            "num_threads": self.num_threads,
            "onnxruntime": ort.__version__,
            "providers": list(self._session.get_providers()),
            "input_dtype": first.dtype,
            "input_shape": first.shape,
            "inputs": {p.logical: f"{p.dtype} {p.shape}" for p in self.inputs},
            "batching": self.batching,
        }

    def _run(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {p.name: np.ascontiguousarray(arrays[p.logical], dtype=p.dtype)
                for p in self.inputs}
        try:
            raw = self._session.run(self._output_names, feed)
        except Exception as exc:  # shapes were checked against the manifest: a model fault
            raise ModelError(f"ONNX Runtime failed to run {os.path.basename(self.model_path)}: "
                             f"{exc}") from exc
        return {p.logical: _float32(r) for p, r in zip(self.outputs, raw, strict=True)}


def _shape(dims: Sequence[Any] | None) -> list[int]:
    return [d if isinstance(d, int) and d >= 0 else -1 for d in dims or ()]


def _float32(x: Any) -> np.ndarray:
    array = np.asarray(x)
    return array.astype(np.float32, copy=False) if array.dtype.kind == "f" else array


def _bind(ports: list[OnnxPort], names: Sequence[str] | None,
          specs: Sequence[TensorSpec] | None, what: str, path: str) -> list[OnnxPort]:
    """The graph's tensors under the manifest's names (their own names without them)."""
    if names is None:
        return ports
    bound = []
    for name in names:
        spec = next((s for s in specs or () if s.logical == name), None)
        port = next((p for p in ports if spec is not None and p.name == spec.name), None)
        if port is None and len(ports) == len(names) == 1:
            port = ports[0]
        if port is None:
            have = ", ".join(p.name for p in ports)
            raise ModelError(f"{os.path.basename(path)} has no tensor for the manifest's {what} "
                             f"{name!r} (it has: {have}); re-create the folder with "
                             "`lambdalite convert --onnx`")
        bound.append(OnnxPort(name, port.name, port.shape, port.dtype))
    return bound
