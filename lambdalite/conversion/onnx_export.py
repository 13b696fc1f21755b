"""``convert --onnx``: the model as ONNX (tf2onnx) and its dynamic-quantized twin
(``onnxruntime.quantization``), recorded in the manifest as ``onnx_float32`` and
``onnx_dynamic`` (``format: "onnx"``), for the function's onnxruntime backend.

tf2onnx (1.17, the first release that accepts TensorFlow 2.21's protobuf) converts SavedModels;
its Keras path (``from_keras``, ``--keras``) fails with Keras 3, so a ``.keras``/``.h5`` model
is exported to a SavedModel first (``model.export``) and converted from there. It runs as its
command (``python -m tf2onnx.convert``) in a child process: its public interface, and the
child's TensorFlow graphs, logs and memory go when it ends.

The dynamic twin quantizes MatMul/Gemm weights only (int8, in 7 bits: ``reduce_range``, so
that x86-64 CPUs without VNNI, whose u8 x s8 products saturate in 16 bits, answer as the build
machine did; docs/CONVERT.md): ``quantize_dynamic``'s default also
turns every Conv into ConvInteger, which measured 3x slower than ONNX Runtime's own float32 on
x86_64, and which onnxruntime 1.16.3 (the newest for Amazon Linux 2) cannot run at all
(docs/CONVERT.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from lambdalite import progress as progress_
from lambdalite.conversion.assemble import FileInterface, variant_record
from lambdalite.conversion.errors import ConversionError, ModelError
from lambdalite.conversion.formats import ModelFormat, load_keras
from lambdalite.conversion.plan import ConversionPlan
from lambdalite.manifest import TensorSpec, Variant

FLOAT32 = "onnx_float32"
DYNAMIC = "onnx_dynamic"
FILES = {FLOAT32: "model.onnx", DYNAMIC: "model_dynamic.onnx"}
# tf2onnx's default is 15; 17 is what this was tested with (onnxruntime >= 1.14 runs it, the
# 1.16.3 wheel for Amazon Linux 2 included).
OPSET = 17
QUANTIZED_OPS = ["MatMul", "Gemm"]
TF2ONNX_TIMEOUT_S = 3600
# From this size on, model.onnx keeps its weights in a side file (model.onnx.data), which ONNX
# Runtime reads as it is instead of parsing ~200 MB of protobuf: measured on the large benchmark
# model (208 MB), session creation 1.8 s -> 0.25 s with the same peak memory. The quantized twin
# (a quarter of the size) creates in ~0.3 s either way and stays one file.
EXTERNAL_DATA_BYTES = 32 * 1024 * 1024
# Keras 3's export names the SavedModel signature "serve" (and "serving_default" as its alias).
KERAS_SIGNATURE = "serving_default"


def export_onnx(plan: ConversionPlan, progress: progress_.Progress | None = None
                ) -> tuple[list[tuple[str, str]], dict[str, Variant]]:
    """Write both ONNX files into ``plan.out``; (variant, failure reason) per failed variant and
    the records of those made. Two units of ``progress``."""
    shown = progress_.resolve(progress)
    failed: list[tuple[str, str]] = []
    made: dict[str, Variant] = {}
    float32 = plan.out / FILES[FLOAT32]
    with progress_.step(shown, "converting onnx_float32 (tf2onnx)"):
        try:
            with tempfile.TemporaryDirectory(prefix="lambdalite-onnx-") as tmp:
                saved_model, signature, tags = _saved_model_of(plan, Path(tmp))
                run_tf2onnx(saved_model, float32, signature, tags)
            made[FLOAT32] = onnx_record(FLOAT32, float32, externalize(float32))
        except ConversionError as exc:
            float32.unlink(missing_ok=True)
            float32.with_name(float32.name + ".data").unlink(missing_ok=True)
            failed += [(FLOAT32, exc.message), (DYNAMIC, "needs onnx_float32, which failed")]
    if FLOAT32 not in made:
        return failed, made
    dynamic = plan.out / FILES[DYNAMIC]
    with progress_.step(shown, "quantizing onnx_dynamic (onnxruntime.quantization)"):
        try:
            quantize(float32, dynamic)
            made[DYNAMIC] = onnx_record(DYNAMIC, dynamic)
        except ConversionError as exc:
            dynamic.unlink(missing_ok=True)
            failed.append((DYNAMIC, exc.message))
    return failed, made


def _saved_model_of(plan: ConversionPlan, tmp: Path) -> tuple[Path, str | None, tuple[str, ...]]:
    """(SavedModel folder, signature key, tags) tf2onnx reads for the plan's model."""
    if plan.format in (ModelFormat.SAVED_MODEL_TF2, ModelFormat.SAVED_MODEL_TF1):
        return plan.model, plan.signature_key, plan.tags
    if plan.format in (ModelFormat.KERAS, ModelFormat.H5):
        target = tmp / "saved_model"
        try:
            load_keras(plan.model).export(str(target), verbose=False)
        except Exception as exc:  # Keras raises ValueError, TypeError, NotImplementedError...
            raise ConversionError(f"exporting {plan.model.name} as a SavedModel for tf2onnx "
                                  f"failed: {type(exc).__name__}: {exc}") from exc
        return target, KERAS_SIGNATURE, ("serve",)
    raise ConversionError(f"--onnx converts TensorFlow models; {plan.format.value} is not one")


def run_tf2onnx(saved_model: Path, target: Path, signature: str | None,
                tags: tuple[str, ...]) -> None:
    command = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(saved_model),
               "--output", str(target), "--opset", str(OPSET)]
    if signature:
        command += ["--signature_def", signature]
    if tags:
        command += ["--tag", ",".join(tags)]
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", **os.environ}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=TF2ONNX_TIMEOUT_S,
                              env=env, check=False)
    except subprocess.TimeoutExpired:
        raise ConversionError(f"tf2onnx did not finish within {TF2ONNX_TIMEOUT_S} s") from None
    if proc.returncode != 0 or not target.is_file():
        raise ConversionError(f"tf2onnx failed: {_last_error(proc.stderr)}")


def _last_error(text: str) -> str:
    """The line of tf2onnx's log that says what went wrong (its traceback's last line)."""
    if "No module named tf2onnx" in text:
        return ("tf2onnx is not installed; install lambdalite's TensorFlow extra "
                "(pip install 'lambdalite[tf]') or pip install 'tf2onnx>=1.17'")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "Error" in ln or "error" in ln]
    return (errors[-1] if errors else lines[-1] if lines else "no output")[:500]


def quantize(source: Path, target: Path) -> None:
    """Dynamic-range quantization of ``source``'s MatMul/Gemm weights (int8) into ``target``."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise ConversionError(f"onnxruntime's quantization tools are missing ({exc}); install "
                              "lambdalite's TensorFlow extra (pip install 'lambdalite[tf]')"
                              ) from exc
    with tempfile.TemporaryDirectory(prefix="lambdalite-onnx-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        try:
            # Shape inference and constant folding first, as ONNX Runtime's docs advise; the
            # symbolic pass needs sympy and adds nothing for tf2onnx's graphs.
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        except Exception:  # a graph it cannot pre-process is quantized as it is
            prepared = source
        try:
            quantize_dynamic(str(prepared), str(target), weight_type=QuantType.QInt8,
                             op_types_to_quantize=QUANTIZED_OPS, reduce_range=True)
        except Exception as exc:  # onnx and onnxruntime raise ValueError, RuntimeError ...
            raise ConversionError(f"quantize_dynamic failed: {type(exc).__name__}: {exc}"
                                  ) from exc


def externalize(path: Path, threshold: int = EXTERNAL_DATA_BYTES) -> str | None:
    """Move the weights of an ONNX file of ``threshold`` bytes or more into ``<file>.data``
    next to it; the side file's name, or None when the file stays whole."""
    if path.stat().st_size < threshold:
        return None
    import onnx  # deferred: --onnx only (tf2onnx requires it)

    data = f"{path.name}.data"
    try:
        model = onnx.load(str(path))
        onnx.save_model(model, str(path), save_as_external_data=True,
                        all_tensors_to_one_file=True, location=data, size_threshold=1024)
    except Exception as exc:  # onnx raises ValueError, OSError, its own checker errors
        raise ConversionError(f"saving {path.name}'s weights as {data} failed: {exc}") from exc
    return data


def onnx_record(name: str, path: Path, external_data: str | None = None) -> Variant:
    """The manifest entry of an ONNX file, its tensors as ONNX Runtime reads them (logical =
    the graph's own names; ``assemble`` maps them onto the manifest's)."""
    # Deferred: onnxruntime is needed only with --onnx.
    from lambdalite.function.backends.onnxruntime import graph_ports, open_session

    try:
        ins, outs = graph_ports(open_session(str(path)))
    except ModelError as exc:
        raise ConversionError(exc.message) from exc
    interface = FileInterface(_specs(ins), _specs(outs), activations=[])
    record = variant_record(name, path, interface)._replace(format="onnx",
                                                           external_data=external_data)
    if external_data is None:
        return record
    return record._replace(size_bytes=record.size_bytes + (path.parent / external_data).stat()
                           .st_size)


def _specs(ports: list[Any]) -> list[TensorSpec]:
    """``index``: the position among the graph's inputs (or outputs), as ONNX Runtime lists them."""
    return [TensorSpec(name=p.name, shape=list(p.shape), dtype=p.dtype, logical=p.name, index=i)
            for i, p in enumerate(ports)]
