"""Which converter lines reach the user: TF Select fallbacks and unsupported ops."""

from __future__ import annotations

import logging
import os
import warnings

from lambdalite.convert.capture import MAX_NOTES, NoteKind, capture_converter_output, classify

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
