"""Read a ``.tflite`` file back with LiteRT: its logical inputs and outputs, tensor specs, each
output's final activation, and which variant its tensor types make it.

The manifest's tensor specs come from the interpreter, not from the converter's
options, so they say what the function will actually see; names and ports come from the
function's own LiteRT backend (``file_ports``), so convert and the function bind a file's
tensors the same way. No TensorFlow here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lambdalite.errors import ModelError
from lambdalite.function.backends.litert import Port, file_ports
from lambdalite.manifest import OutputActivation, Quantization, TensorSpec

# The last op of a classifier's graph -> what its output already is.
FINAL_OP_ACTIVATION: dict[str, OutputActivation] = {"SOFTMAX": "softmax", "LOGISTIC": "sigmoid"}
_INTEGER_ACTIVATIONS = ("int8", "uint8", "int16")
# Ops that only change a tensor's type or delegate others: not evidence of quantized compute.
_BOOKKEEPING_OPS = ("QUANTIZE", "DEQUANTIZE", "DELEGATE")


def open_interpreter(path: Path, num_threads: int = 1,
                     hint: str = "re-run `lambdalite convert`") -> Any:
    from ai_edge_litert.interpreter import Interpreter  # deferred: keeps the CLI import light

    try:
        it = Interpreter(model_path=str(path), num_threads=num_threads)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"LiteRT cannot load {path} ({exc}); {hint}") from exc
    return it


def tensor_spec(detail: dict[str, Any], logical: str = "") -> TensorSpec:
    sig = detail.get("shape_signature")
    shape = sig if sig is not None and len(sig) else detail["shape"]
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return TensorSpec(
        name=str(detail["name"]),
        shape=[int(d) for d in shape],
        dtype=np.dtype(detail["dtype"]).name,
        quantization=Quantization(scale=float(scale), zero_point=int(zero_point)),
        logical=logical or str(detail["name"]),
        index=int(detail.get("index", -1)),
    )


def tensor_specs(it: Any) -> tuple[list[TensorSpec], list[TensorSpec]]:
    _, ins, outs = file_ports(it)
    return ([tensor_spec(p.detail, p.key) for p in ins], [tensor_spec(p.detail, p.key) for p in outs])


def final_activations(it: Any, outputs: list[Port]) -> list[OutputActivation]:
    """Per output: "softmax"/"sigmoid" when the graph ends in one (already probabilities)."""
    try:
        ops = it._get_ops_details()  # the only public-ish view of the graph in LiteRT
    except AttributeError:
        return ["none"] * len(outputs)
    return [_activation(ops, int(p.detail["index"])) for p in outputs]


def final_activation(it: Any) -> OutputActivation:
    """The first output's final activation."""
    _, _, outs = file_ports(it)
    return final_activations(it, outs[:1])[0]


def _activation(ops: list[dict[str, Any]], output_index: int) -> OutputActivation:
    for op in reversed(ops):
        name = str(op.get("op_name", ""))
        # XNNPACK appends DELEGATE nodes that claim the original nodes' outputs.
        if name != "DELEGATE" and output_index in list(op.get("outputs", [])):
            if name == "QUANTIZE" and op.get("inputs") is not None:
                # int8 graphs end in SOFTMAX -> QUANTIZE(to the io type): look one step back.
                output_index = int(list(op["inputs"])[0])
                continue
            return FINAL_OP_ACTIVATION.get(name, "none")
    return "none"


def variant_of(it: Any) -> str:
    """Which variant a file is, from its tensor types (docs/CONVERT.md):

    int8     an op computes on integer activations (full-integer quantization; its inputs and
             outputs may still be float around QUANTIZE/DEQUANTIZE)
    dynamic  int8 tensors (weights) but every op's activations are float (dynamic range)
    float16  float16 tensors (weights, dequantized to float32 at run time)
    float32  everything else
    """
    types = {int(t["index"]): np.dtype(t["dtype"]).name for t in _tensor_details(it)}
    try:
        ops = it._get_ops_details()
    except AttributeError:
        ops = []
    for op in ops:
        if str(op.get("op_name", "")) in _BOOKKEEPING_OPS:
            continue
        first = [int(i) for i in op.get("inputs", []) if int(i) >= 0][:1]
        if first and types.get(first[0]) in _INTEGER_ACTIVATIONS:
            return "int8"
    _, ins, outs = file_ports(it)
    if any(np.dtype(p.detail["dtype"]).name in _INTEGER_ACTIVATIONS and p.detail["quantization"][0]
           for p in (*ins, *outs)):
        return "int8"
    if "int8" in types.values():
        return "dynamic"
    if "float16" in types.values():
        return "float16"
    return "float32"


def _tensor_details(it: Any) -> list[dict[str, Any]]:
    try:
        return list(it.get_tensor_details())
    except (ValueError, RuntimeError):  # a tensor LiteRT cannot describe: judge by the rest
        return []
