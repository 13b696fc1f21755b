"""LiteRT backend: ``ai_edge_litert.interpreter.Interpreter`` with XNNPACK.

The model is opened with ``model_path`` so the flatbuffer is memory-mapped, not
copied into the Python heap. XNNPACK is LiteRT's default CPU delegate; it is applied
when tensors are first allocated, and we report whether it took the graph (the
execution plan then holds DELEGATE nodes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from lambdalite.errors import ModelError

_INT_TYPES = (np.int8, np.uint8, np.int16)


class LiteRTBackend:
    name = "litert"

    def __init__(self, model_path: Path, num_threads: int) -> None:
        if not model_path.is_file():
            raise ModelError(f"model file {model_path} is missing; rebuild the package")
        try:
            self._it = Interpreter(model_path=str(model_path), num_threads=num_threads)
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"LiteRT could not load {model_path}: {exc}") from exc
        self.model_path = model_path
        self.num_threads = num_threads
        inp = self._it.get_input_details()
        out = self._it.get_output_details()
        if len(inp) != 1 or len(out) < 1:
            raise ModelError(
                f"{model_path.name} has {len(inp)} inputs and {len(out)} outputs; "
                "the function serves single-input image models"
            )
        self._in = inp[0]
        self._out = out[0]
        signature = self._in.get("shape_signature")
        self.input_shape = [
            int(d)
            for d in (signature if signature is not None and len(signature) else self._in["shape"])
        ]
        # A dynamic batch dimension lets one invoke serve the whole batch.
        self.dynamic_batch = bool(self.input_shape) and self.input_shape[0] == -1
        self._batch = int(self._in["shape"][0])
        self.delegated_nodes = self._count_delegate_nodes()

    # ---- Backend protocol ---------------------------------------------------
    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self.dynamic_batch:
            return self._run(batch)
        return np.concatenate(
            [self._run(batch[i : i + self._batch]) for i in range(0, len(batch), self._batch)]
        )

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self.model_path.name,
            "num_threads": self.num_threads,
            "xnnpack": self.delegated_nodes > 0 if self.delegated_nodes >= 0 else None,
            "delegated_nodes": self.delegated_nodes,
            "input_dtype": np.dtype(self._in["dtype"]).name,
            "input_shape": self.input_shape,
            "batching": "resize" if self.dynamic_batch else "loop",
        }

    # ---- internals ----------------------------------------------------------
    def _run(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        if self.dynamic_batch and n != self._batch:
            self._it.resize_tensor_input(self._in["index"], [n, *self.input_shape[1:]])
            self._it.allocate_tensors()
            self._batch = n
        self._it.set_tensor(self._in["index"], quantize(x, self._in))
        self._it.invoke()
        return dequantize(self._it.get_tensor(self._out["index"]), self._out)

    def _count_delegate_nodes(self) -> int:
        # _get_ops_details is the only place LiteRT's Python API shows the execution plan;
        # -1 means "unknown" if a future release drops it.
        try:
            ops = self._it._get_ops_details()
        except AttributeError:
            return -1
        return sum(1 for op in ops if op.get("op_name") == "DELEGATE")


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
    """The output tensor's type -> float32: x = (q - zero_point) * scale for integer outputs."""
    scale, zero_point = detail.get("quantization", (0.0, 0))
    if q.dtype.type in _INT_TYPES and scale:
        return (q.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)
    return q.astype(np.float32, copy=False)
