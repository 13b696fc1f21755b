"""Read a ``.tflite`` file back with LiteRT: tensor specs and the final activation.

The manifest's tensor specs come from the interpreter, not from the converter's
options, so they say what the function will actually see. No TensorFlow here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lambdalite.errors import ModelError
from lambdalite.manifest import OutputActivation, Quantization, TensorSpec

# The last op of a classifier's graph -> what its output already is.
FINAL_OP_ACTIVATION: dict[str, OutputActivation] = {"SOFTMAX": "softmax", "LOGISTIC": "sigmoid"}


def open_interpreter(path: Path, num_threads: int = 1) -> Any:
    from ai_edge_litert.interpreter import Interpreter  # deferred: keeps the CLI import light

    try:
        it = Interpreter(model_path=str(path), num_threads=num_threads)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"LiteRT cannot load {path} ({exc}); re-run `lambdalite convert`") from exc
    return it


def tensor_spec(detail: dict[str, Any]) -> TensorSpec:
    sig = detail.get("shape_signature")
    shape = sig if sig is not None and len(sig) else detail["shape"]
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return TensorSpec(
        name=str(detail["name"]),
        shape=[int(d) for d in shape],
        dtype=np.dtype(detail["dtype"]).name,
        quantization=Quantization(scale=float(scale), zero_point=int(zero_point)),
    )


def tensor_specs(it: Any) -> tuple[list[TensorSpec], list[TensorSpec]]:
    return (
        [tensor_spec(d) for d in it.get_input_details()],
        [tensor_spec(d) for d in it.get_output_details()],
    )


def final_activation(it: Any) -> OutputActivation:
    """ "softmax"/"sigmoid" when the graph ends in one (outputs are probabilities)."""
    try:
        ops = it._get_ops_details()  # the only public-ish view of the graph in LiteRT
    except AttributeError:
        return "none"
    if not ops:
        return "none"
    output_index = it.get_output_details()[0]["index"]
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
