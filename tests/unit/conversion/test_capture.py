"""Which converter lines reach the user: TF Select fallbacks and unsupported ops."""

from __future__ import annotations

import logging
import os
import warnings

from lambdalite.conversion.capture import MAX_NOTES, NoteKind, capture_converter_output, classify

CONVERTER_LOG = """\
2026-01-01 W tensorflow/compiler/mlir/lite/flatbuffer_export.cc:3000] TFLite interpreter needs to link Flex delegate in order to run the model since it contains the following Select TFop(s):
Flex ops: FlexErfinv
Details:
	tf.Erfinv(tensor<?x4xf32>) -> (tensor<?x4xf32>) : {device = ""}
See instructions: https://www.tensorflow.org/lite/guide/ops_select
error: 'tf.Foo' op is neither a custom op nor a flex op
error: failed to legalize operation 'tf.Foo' that was explicitly marked illegal
I0000 loc("x"): some noise that is not about ops
"""


def test_classify_keeps_flex_and_unsupported_lines_only() -> None:
    notes = classify(CONVERTER_LOG)
    kinds = {n.text: n.kind for n in notes}
    assert kinds["Flex ops: FlexErfinv"] is NoteKind.TF_SELECT
    assert any(k is NoteKind.UNSUPPORTED and "failed to legalize" in t for t, k in kinds.items())
    assert not any("noise" in n.text for n in notes)


def test_classify_deduplicates_and_caps() -> None:
    text = "\n".join(["Flex ops: FlexA"] * 3 + [f"Flex ops: Flex{i}" for i in range(20)])
    notes = classify(text)
    assert len(notes) == MAX_NOTES
    assert len({n.text for n in notes}) == len(notes)


def test_capture_collects_warnings_logging_and_fd2() -> None:
    with capture_converter_output() as captured:
        warnings.warn("Flex ops: FlexFromWarning", UserWarning, stacklevel=1)
        logging.getLogger("absl").warning("failed to legalize operation 'tf.FromLog'")
        os.write(2, b"Flex ops: FlexFromC\n")
    texts = {n.text for n in captured.notes}
    assert "Flex ops: FlexFromWarning" in texts
    assert "Flex ops: FlexFromC" in texts
    assert any("tf.FromLog" in t for t in texts)


# Shortened from real TF 2.21 converter output (MLIR locations and graph dumps cut).
NEEDS_SELECT = """\
Could not translate MLIR to FlatBuffer.<unknown>:0: error: loc(callsite(fused["MatrixInverse:"])): 'tf.MatrixInverse' op is neither a custom op nor a flex op
<unknown>:0: error: failed while converting: 'main':
Some ops are not supported by the native TFLite runtime, you can enable TF kernels fallback using TF Select. See instructions: https://www.tensorflow.org/lite/guide/ops_select
TF Select ops: MatrixInverse, Erf
Details:
\ttf.MatrixInverse(tensor<?x4x4xf32>) -> (tensor<?x4x4xf32>) : {adjoint = false, device = ""}
"""
NEEDS_CUSTOM = """\
Could not translate MLIR to FlatBuffer.<unknown>:0: error: loc(callsite(fused["Svd:"])): 'tf.Svd' op is neither a custom op nor a flex op
Some ops in the model are custom ops, See instructions to implement custom ops: https://www.tensorflow.org/lite/guide/ops_custom
Custom ops: Svd
"""


def test_op_lists_from_the_converter_summary() -> None:
    from lambdalite.conversion.capture import CUSTOM_OPS, SELECT_OPS, ops_listed

    assert ops_listed(NEEDS_SELECT, SELECT_OPS) == ("Erf", "MatrixInverse")
    assert ops_listed("Flex ops: FlexMatrixInverse", SELECT_OPS) == ("MatrixInverse",)
    assert ops_listed(NEEDS_CUSTOM, CUSTOM_OPS) == ("Svd",)
    assert ops_listed(NEEDS_CUSTOM, SELECT_OPS) == ()


def test_summarize_error_names_the_ops_and_what_to_do() -> None:
    from lambdalite.conversion.execute import summarize_error

    select = summarize_error(RuntimeError(NEEDS_SELECT))
    assert select.startswith("ops Erf, MatrixInverse have no TFLite builtin kernel")
    assert "TF Select" in select and "replace them in the model" in select
    custom = summarize_error(RuntimeError(NEEDS_CUSTOM))
    assert custom.startswith("ops Svd have no TFLite kernel at all")
    other = summarize_error(ValueError("<unknown>:0: error: loc(x)\nInput 0 has no shape\nmore"))
    assert other == "ValueError: Input 0 has no shape"


def test_capture_hears_loggers_that_import_tensorflow_quieted() -> None:
    # import_tensorflow() sets the tensorflow/absl loggers to ERROR; a conversion's warnings
    # must still be collected, and the quiet level must come back afterwards.
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with capture_converter_output() as captured:
            logging.getLogger("tensorflow").warning("TF Select ops: Erfinv")
            logging.getLogger("absl").warning("failed to legalize operation 'tf.Quiet'")
        texts = {n.text for n in captured.notes}
        assert "TF Select ops: Erfinv" in texts
        assert any("tf.Quiet" in t for t in texts)
        assert logging.getLogger("tensorflow").level == logging.ERROR
        assert logging.getLogger("absl").level == logging.ERROR
    finally:
        for name in ("tensorflow", "absl"):
            logging.getLogger(name).setLevel(logging.NOTSET)
