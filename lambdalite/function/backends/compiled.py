"""LiteRT's CompiledModel with XNNPACK's weight cache: the backend for a variant whose package
ships a cache built for this CPU (``weight_cache.py``); every other variant, and every cache
that does not match, runs on the Interpreter (``litert.py``).

Deliberately narrow, so its answers are the Interpreter's (tested bit for bit): float32 inputs
and outputs only (no quantization on the way), shapes fixed but for the batch dimension, a
request's rows run through the compiled batch size (1 for a dynamic batch) slice by slice, the
last slice padded. A model outside that raises ``Unsupported`` and gets the Interpreter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lambdalite.function.backends.batching import pad as pad_rows
from lambdalite.manifest import InputSpec

DEFAULT_SIGNATURE = "serving_default"


class Unsupported(Exception):
    """This model needs what only the Interpreter backend does; the message says what."""


class CompiledBackend:
    name = "litert"

    def __init__(self, model_path: str, cache: str, num_threads: int,
                 inputs: Sequence[InputSpec], outputs: Sequence[str]) -> None:
        for spec in inputs:
            if spec.dtype != "float32" or any(d < 0 for d in spec.shape[1:]):
                raise Unsupported(f"input {spec.name} is {spec.dtype} {spec.shape}: the cache "
                                  "backend takes float32 inputs of fixed size")
        # Deferred: CompiledModel imports ml_dtypes and LiteRT's own runtime (~50-125 ms), paid
        # only where a cache is shipped and matches.
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.options import CpuOptions, Options

        options = Options(cpu_options=CpuOptions(num_threads=num_threads,
                                                 xnnpack_weight_cache_path=cache))
        self._cm = CompiledModel.from_file(model_path, options=options)
        signatures = self._cm.get_signature_list()
        if not signatures:
            raise Unsupported(f"{os.path.basename(model_path)} has no signature")
        key = DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in signatures else next(iter(signatures))
        self._index = self._cm.get_signature_index(key)
        in_keys, out_keys = signatures[key]["inputs"], signatures[key]["outputs"]
        in_details = self._cm.get_input_tensor_details(key)
        out_details = self._cm.get_output_tensor_details(key)
        self._in = _bind([s.name for s in inputs], in_keys)
        self._out = _bind(list(outputs), out_keys)
        for k, d in [*in_details.items(), *out_details.items()]:
            if d["dtype"] != "float32":
                raise Unsupported(f"tensor {k} is {d['dtype']}: the cache backend takes float32")
        self._in_shapes = [list(in_details[k]["shape"]) for k in in_keys]
        self._out_shapes = {k: list(out_details[k]["shape"]) for k in out_keys}
        self._in_buffers = self._cm.create_input_buffers(self._index)
        self._out_buffers = self._cm.create_output_buffers(self._index)
        self._in_keys, self._out_keys = list(in_keys), list(out_keys)
        self.model_path, self.cache, self.num_threads = model_path, cache, num_threads
        self.input_shapes = {name: self._in_shapes[in_keys.index(k)]
                             for name, k in self._in.items()}
        self._batch = self._in_shapes[0][0] if self._in_shapes[0] else 1
        self.batching = "loop"

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        by_key = {k: np.asarray(inputs[name], np.float32) for name, k in self._in.items()}
        rows = int(next(iter(by_key.values())).shape[0])
        parts = [self._run({k: pad_rows(v[i:i + self._batch], self._batch)
                            for k, v in by_key.items()})
                 for i in range(0, rows, self._batch)]
        return {name: np.concatenate([p[k] for p in parts])[:rows]
                for name, k in self._out.items()}

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "api": "CompiledModel",
                "model": os.path.basename(self.model_path), "num_threads": self.num_threads,
                "weight_cache": f"used ({os.path.basename(self.cache)})",
                "inputs": {n: f"float32 {s}" for n, s in self.input_shapes.items()},
                "batching": self.batching}

    def _run(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        for key, buffer, shape in zip(self._in_keys, self._in_buffers, self._in_shapes,
                                      strict=True):
            x = np.ascontiguousarray(feed[key])
            if list(x.shape) != shape:
                raise ValueError(f"input {key} is {list(x.shape)}, the model takes {shape}")
            buffer.write(x.ravel())
        self._cm.run_by_index(self._index, self._in_buffers, self._out_buffers)
        out = {}
        for key, buffer in zip(self._out_keys, self._out_buffers, strict=True):
            shape = self._out_shapes[key]
            out[key] = buffer.read(int(np.prod(shape)), np.float32).reshape(shape)
        return out


def _bind(names: Sequence[str], keys: Sequence[str]) -> dict[str, str]:
    """The manifest's names -> the signature's keys (the only one, whatever it is called)."""
    if len(names) == len(keys) == 1:
        return {names[0]: keys[0]}
    missing = [n for n in names if n not in keys]
    if missing or len(names) != len(keys):
        raise Unsupported(f"the signature has {list(keys)}, the manifest names {list(names)}")
    return {n: n for n in names}
