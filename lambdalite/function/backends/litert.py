"""LiteRT backend: ``ai_edge_litert.interpreter.Interpreter`` with XNNPACK.

A package that holds ``tflite_runtime`` instead (the write-up's tflite-runtime 2.7.0, bench's
peer rows on python3.9) runs through its ``Interpreter``: the same API for everything used
here. Its XNNPACK is compiled in but not applied, which ``describe()`` reports as it is.

The model is opened with ``model_path`` so the flatbuffer is memory-mapped, not
copied into the Python heap. XNNPACK is LiteRT's default CPU delegate; it is applied
when tensors are first allocated, and we report whether it took the graph (the
execution plan then holds DELEGATE nodes).

Inputs and outputs are addressed by the manifest's logical names: each is bound at INIT to
one of the file's tensors (the variant's recorded tensor index, else its name, else the only
one). A file with a signature runs through its ``SignatureRunner`` (``serving_default``, else
its first signature), one without through tensor indices. A request's shape is applied with
``resize_tensor_input`` when it differs from the tensor's (dynamic dimensions, batch size);
a model whose batch dimension is fixed runs slice by slice, the last slice padded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lambdalite.errors import ModelError
from lambdalite.function.backends.batching import batching_mode, run_request
from lambdalite.manifest import TensorSpec, Variant
from lambdalite.records import Record

try:
    from ai_edge_litert.interpreter import Interpreter
    RUNTIME = "ai_edge_litert"
except ImportError:  # a package built with tflite-runtime only (python3.9's peer rows)
    from tflite_runtime.interpreter import Interpreter
    RUNTIME = "tflite_runtime"

_INT_TYPES = (np.int8, np.uint8, np.int16)
DEFAULT_SIGNATURE = "serving_default"


class Port(Record):
    """One logical input or output bound to one tensor of the file."""

    logical: str
    key: str                  # the signature key, or the tensor name without a signature
    detail: dict[str, Any]    # LiteRT's tensor details (index, dtype, quantization ...)

    @property
    def shape(self) -> list[int]:
        sig = self.detail.get("shape_signature")
        return [int(d) for d in (sig if sig is not None and len(sig) else self.detail["shape"])]


class LiteRTBackend:
    name = "litert"

    def __init__(
        self,
        model_path: str,
        num_threads: int,
        variant: Variant | None = None,
        inputs: Sequence[str] | None = None,
        outputs: Sequence[str] | None = None,
    ) -> None:
        if not os.path.isfile(model_path):
            raise ModelError(f"model file {model_path} is missing; rebuild the package")
        try:
            self._it = Interpreter(model_path=model_path, num_threads=num_threads)
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{RUNTIME} could not load {model_path}: {exc}{_hint(exc)}") from exc
        self.model_path = model_path
        self.num_threads = num_threads
        self.signature, file_in, file_out = file_ports(self._it)
        self._runner = self._it.get_signature_runner(self.signature) if self.signature else None
        if not file_in or not file_out:
            raise ModelError(f"{os.path.basename(model_path)} has {len(file_in)} inputs and "
                             f"{len(file_out)} outputs; a model needs at least one of each")
        self.inputs = _bind(file_in, inputs, variant.inputs if variant else None, "input",
                            model_path)
        self.outputs = _bind(file_out, outputs, variant.outputs if variant else None, "output",
                             model_path)
        self.input_shapes = {p.logical: p.shape for p in self.inputs}
        # What each input tensor is allocated as now (the index path resizes only on change).
        self._allocated = {p.detail["index"]: tuple(int(d) for d in p.detail["shape"])
                           for p in self.inputs}
        self.batching = self._batching()
        self.delegated_nodes = self._count_delegate_nodes()
        self.weight_cache: str | None = None   # set by load_backend: why a shipped cache is not used

    # ---- Backend protocol ---------------------------------------------------
    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return run_request(self._run, inputs, self.inputs, self.batching)

    def describe(self) -> dict[str, Any]:
        first = self.inputs[0]
        return {
            "backend": self.name,
            "runtime": RUNTIME,
            "model": os.path.basename(self.model_path),
            "num_threads": self.num_threads,
            "xnnpack": self.delegated_nodes > 0 if self.delegated_nodes >= 0 else None,
            "delegated_nodes": self.delegated_nodes,
            "signature": self.signature,
            "input_dtype": np.dtype(first.detail["dtype"]).name,
            "input_shape": first.shape,
            "inputs": {p.logical: f"{np.dtype(p.detail['dtype']).name} {p.shape}"
                       for p in self.inputs},
            "batching": self.batching,
            **({"weight_cache": self.weight_cache} if self.weight_cache else {}),
        }

    # ---- internals ----------------------------------------------------------
    def _batching(self) -> str:
        return batching_mode([p.shape for p in self.inputs])

    def _run(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {p.key: quantize(arrays[p.logical], p.detail) for p in self.inputs}
        if self._runner is not None:
            raw = self._runner(**feed)
            return {p.logical: dequantize(raw[p.key], p.detail) for p in self.outputs}
        resized = False
        for p in self.inputs:
            index, shape = p.detail["index"], feed[p.key].shape
            if self._allocated[index] != shape:
                self._it.resize_tensor_input(index, list(shape))
                self._allocated[index] = shape
                resized = True
        if resized:
            self._it.allocate_tensors()
        for p in self.inputs:
            self._it.set_tensor(p.detail["index"], feed[p.key])
        self._it.invoke()
        return {p.logical: dequantize(self._it.get_tensor(p.detail["index"]), p.detail)
                for p in self.outputs}

    def _count_delegate_nodes(self) -> int:
        # _get_ops_details is the only place LiteRT's Python API shows the execution plan;
        # -1 means "unknown" if a future release drops it.
        try:
            ops = self._it._get_ops_details()
        except AttributeError:
            return -1
        return sum(1 for op in ops if op.get("op_name") == "DELEGATE")


def _hint(exc: Exception) -> str:
    """What to do when an older runtime meets an op version newer than it knows."""
    if "An older version of this builtin might be supported" not in str(exc):
        return ""
    return ("; this runtime is older than the converter: convert with --dense-per-tensor "
            "(dynamic and int8 variants that tflite-runtime 2.7 loads), or use ai-edge-litert")


def file_ports(it: Any) -> tuple[str | None, list[Port], list[Port]]:
    """(signature key or None, inputs, outputs) of an interpreter's model, in tensor order,
    named by signature key where the file has a signature, by tensor name otherwise."""
    signatures = it.get_signature_list()
    if not signatures:
        return (
            None,
            [Port(d["name"], d["name"], d) for d in it.get_input_details()],
            [Port(d["name"], d["name"], d) for d in it.get_output_details()],
        )
    key = DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in signatures else next(iter(signatures))
    runner = it.get_signature_runner(key)

    def ports(details: dict[str, dict[str, Any]]) -> list[Port]:
        ordered = sorted(details.items(), key=lambda kv: int(kv[1]["index"]))
        return [Port(k, k, d) for k, d in ordered]

    return key, ports(runner.get_input_details()), ports(runner.get_output_details())


def _bind(
    ports: list[Port],
    names: Sequence[str] | None,
    specs: Sequence[TensorSpec] | None,
    what: str,
    path: str,
) -> list[Port]:
    """The file's tensors under the manifest's names (the file's own names without them)."""
    if names is None:
        return ports
    bound = []
    for name in names:
        spec = next((s for s in specs or () if s.logical == name), None)
        port = None
        if spec is not None:
            port = next((p for p in ports if spec.index >= 0 and p.detail["index"] == spec.index),
                        None) or next((p for p in ports if p.detail["name"] == spec.name), None)
        if port is None and len(ports) == len(names) == 1:
            port = ports[0]
        if port is None:
            have = ", ".join(f"{p.key} ({p.detail['name']})" for p in ports)
            raise ModelError(f"{os.path.basename(path)} has no tensor for the manifest's {what} "
                             f"{name!r} (it has: {have}); re-create the folder with "
                             "`lambdalite convert`")
        bound.append(Port(name, port.key, port.detail))
    return bound


def quantize(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """float32 -> the input tensor's type: q = round(x / scale) + zero_point for integer inputs."""
    dtype = np.dtype(detail["dtype"])
    scale, zero_point = detail.get("quantization", (0.0, 0))
    if dtype.type in _INT_TYPES and scale:
        info = np.iinfo(dtype)
        q = np.round(x / np.float32(scale)) + zero_point
        return np.clip(q, info.min, info.max).astype(dtype)
    return x.astype(dtype, copy=False)


def dequantize(q: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """A quantized output -> float32: x = (q - zero_point) * scale; other floats -> float32;
    plain integers (ids, counts) and booleans stay what they are."""
    scale, zero_point = detail.get("quantization", (0.0, 0))
    if q.dtype.type in _INT_TYPES and scale:
        return (q.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)
    if q.dtype.kind == "f":
        return q.astype(np.float32, copy=False)
    return q
