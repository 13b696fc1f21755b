"""Planning is pure: options + the model's facts -> a frozen plan (no TensorFlow)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lambdalite.conversion.errors import CalibrationRequired, UsageError
from lambdalite.conversion.formats import ModelFacts, ModelFormat, TensorFacts
from lambdalite.conversion.plan import ConvertOptions, make_plan, preprocessing_for

MNIST = ModelFacts(
    format=ModelFormat.SAVED_MODEL_TF2,
    inputs=(TensorFacts("image", (-1, 28, 28, 1), "float32"),),
    outputs=(TensorFacts("output_0", (-1, 10), "float32"),),
    tf_version="2.21.0",
    tags=("serve",),
    signature_key="serving_default",
    signature_keys=("serving_default",),
)
OPTS = ConvertOptions(model=Path("models/mnist.keras"), out=Path("out"))


def test_default_is_every_variant_that_can_be_made_and_says_why_int8_is_not() -> None:
    plan = make_plan(OPTS, MNIST)
    assert plan.variants == ("float32", "dynamic", "float16")
    assert [s.variant for s in plan.skipped] == ["int8"]
    assert "--calibration" in plan.skipped[0].reason
    assert "skipped   int8: no calibration data" in plan.describe()


def test_with_calibration_the_default_is_all_four() -> None:
    plan = make_plan(replace(OPTS, calibration=Path("cal.npz")), MNIST)
    assert plan.variants == ("float32", "dynamic", "float16", "int8")
    assert plan.skipped == ()
    assert "calibration cal.npz (up to 200 examples, int8 input/output)" in plan.describe()


def test_int8_asked_for_without_calibration_is_an_error_not_a_skip() -> None:
    with pytest.raises(CalibrationRequired, match="int8 variant needs calibration data") as info:
        make_plan(replace(OPTS, variants=("float32", "int8")), MNIST)
    # The API names its fields; the CLI shows its flags instead.
    assert "pass calibration data.npz" in info.value.message
    assert "pass --calibration data.npz" in info.value.renamed({"calibration": "--calibration"}).message
    assert info.value.exit_code == 2


def test_subset_comes_out_in_canonical_order_without_duplicates() -> None:
    plan = make_plan(replace(OPTS, variants=("float16", "float32", "float16")), MNIST)
    assert plan.variants == ("float32", "float16")
    assert plan.files() == ("float32.tflite", "float16.tflite")


@pytest.mark.parametrize(
    ("variants", "message"),
    [(("float64",), "unknown variant.*float64"), ((), "no variants selected")],
)
def test_bad_variant_lists(variants: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make_plan(replace(OPTS, variants=variants), MNIST)


def test_bad_int8_io() -> None:
    with pytest.raises(UsageError, match="int8_io must be one of"):
        make_plan(replace(OPTS, int8_io="int16"), MNIST)


def test_labels_must_match_the_number_of_outputs() -> None:
    with pytest.raises(UsageError, match="3 labels but the model has 10 outputs"):
        make_plan(replace(OPTS, labels=("a", "b", "c")), MNIST)
    plan = make_plan(replace(OPTS, labels=tuple("0123456789")), MNIST)
    assert plan.labels == tuple("0123456789")


def test_name_defaults_from_the_path_and_skips_generic_folder_names() -> None:
    assert make_plan(OPTS, MNIST).name == "mnist"
    assert make_plan(replace(OPTS, model=Path("zoo/digits/saved_model")), MNIST).name == "digits"
    assert make_plan(replace(OPTS, name="custom"), MNIST).name == "custom"


def test_non_float_input_gets_a_note() -> None:
    plan = make_plan(OPTS, replace(MNIST, inputs=(TensorFacts("image", (-1, 28, 28, 1), "uint8"),)))
    assert any("uint8" in n for n in plan.notes)


# ---- preprocessing contract: flags first, then the input shape -------------------------


def test_preprocessing_defaults_from_a_grayscale_input() -> None:
    pre = preprocessing_for((-1, 28, 28, 1), OPTS)
    assert (pre.color_mode, pre.height, pre.width, pre.layout) == ("L", 28, 28, "NHWC")
    assert pre.scale == pytest.approx(1 / 255) and pre.offset == 0.0


def test_preprocessing_for_an_rgb_nchw_input() -> None:
    pre = preprocessing_for((1, 3, 224, 160), OPTS)
    assert (pre.color_mode, pre.height, pre.width, pre.layout) == ("RGB", 224, 160, "NCHW")


def test_flags_override_the_defaults() -> None:
    opts = replace(OPTS, scale=1.0, offset=-0.5, resize_filter="nearest", size=(32, 32))
    pre = preprocessing_for((-1, 28, 28, 1), opts)
    assert (pre.scale, pre.offset, pre.resize_filter, pre.height) == (1.0, -0.5, "nearest", 32)


def test_unknown_spatial_size_needs_size_flag() -> None:
    with pytest.raises(UsageError, match="pass size HxW"):
        preprocessing_for((-1, -1, -1, 3), OPTS)
    assert preprocessing_for((-1, -1, -1, 3), replace(OPTS, size=(64, 48))).width == 48


def test_color_must_match_the_channels() -> None:
    with pytest.raises(UsageError, match="color RGB makes 3 channel"):
        preprocessing_for((-1, 28, 28, 1), replace(OPTS, color="RGB"))


def test_unknown_channels_need_color_flag() -> None:
    with pytest.raises(UsageError, match="pass color L\\|RGB"):
        preprocessing_for((-1, 28, 28, 5), OPTS)


def test_non_image_input_is_refused() -> None:
    with pytest.raises(UsageError, match="not an image batch"):
        preprocessing_for((-1, 784), OPTS)


def test_an_integer_image_input_takes_the_pixels_themselves() -> None:
    assert preprocessing_for((-1, 28, 28, 1), OPTS, "uint8").scale == 1.0


# ---- any model: input and output kinds ---------------------------------------------------
SIGNAL = replace(
    MNIST,
    inputs=(TensorFacts("signal", (-1, -1, 1), "float32"),),
    outputs=(TensorFacts("output_0", (-1, 3), "float32"),),
)
MULTI = replace(
    MNIST,
    inputs=(TensorFacts("pixels", (-1, 12, 12, 3), "float32"), TensorFacts("meta", (-1, 4), "float32")),
    outputs=(TensorFacts("decoded", (-1, 100), "float32"), TensorFacts("probs", (-1, 5), "float32")),
)


def test_a_non_image_input_is_a_tensor_and_its_output_is_decided_by_the_graph() -> None:
    plan = make_plan(OPTS, SIGNAL)
    assert [(i.name, i.kind, i.preprocessing) for i in plan.inputs] == [("signal", "tensor", None)]
    assert [(o.name, o.kind) for o in plan.outputs] == [("output_0", None)]
    assert plan.preprocessing is None
    text = plan.describe()
    assert "input       signal: tensor float32 [-1, -1, 1]" in text
    assert "output      output_0: auto (from the graph's last op) [-1, 3]" in text
    labelled = make_plan(replace(OPTS, labels=("a", "b", "c")), SIGNAL)
    assert [(o.kind, o.labels) for o in labelled.outputs] == [("classes", ("a", "b", "c"))]


def test_the_image_input_of_several_and_declared_output_kinds() -> None:
    plan = make_plan(replace(OPTS, output_kinds={"decoded": "bits"}, labels=tuple("abcde"),
                             input_kinds={"meta": "tensor"}), MULTI)
    assert [(i.name, i.kind) for i in plan.inputs] == [("pixels", "image"), ("meta", "tensor")]
    # The labels go to the one output not declared otherwise.
    assert [(o.kind, o.labels) for o in plan.outputs] == [("bits", None), ("classes", tuple("abcde"))]
    assert plan.preprocessing is not None and plan.preprocessing.color_mode == "RGB"
    with pytest.raises(UsageError, match="the model has 2 outputs .decoded, probs.; say which one"):
        make_plan(replace(OPTS, labels=tuple("abcde")), MULTI)
    with pytest.raises(UsageError, match="5 labels but the model has 100 outputs"):
        make_plan(replace(OPTS, labels=tuple("abcde"), output_kinds={"decoded": "classes"}), MULTI)
    plan = make_plan(replace(OPTS, labels=tuple("abcde"),
                             output_kinds={"decoded": "bits", "probs": "classes"}), MULTI)
    assert [(o.name, o.kind, o.labels) for o in plan.outputs] == [
        ("decoded", "bits", None), ("probs", "classes", tuple("abcde"))]
    as_tensor = make_plan(replace(OPTS, input_kinds={"pixels": "tensor"}), MULTI)
    assert as_tensor.inputs[0].kind == "tensor" and as_tensor.preprocessing is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"output_kinds": {"decode": "bits"}}, "no output 'decode' .its outputs: decoded, probs."),
        ({"output_kinds": {"decoded": "bytes"}}, "decoded=bytes: the kind must be one of classes"),
        ({"input_kinds": {"meta": "image"}}, r"meta=image: its shape \[-1, 4\] is not an image"),
        ({"input_kinds": {"pixels": "audio"}}, "pixels=audio: the kind must be one of image, tensor"),
        ({"output_activation": "relu"}, "output_activation must be one of softmax"),
        ({"hook_requirements": ("bchlib",)}, "hook_requirements without hooks"),
    ],
)
def test_kind_and_hook_mistakes_name_the_option(changes: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make_plan(replace(OPTS, **changes), MULTI)


def test_hooks_must_be_a_python_module_with_pip_requirements(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks.py"
    hooks.write_text("")
    plan = make_plan(replace(OPTS, hooks=hooks, hook_requirements=("bchlib>=2.1,<3",)), MULTI)
    assert plan.hooks == hooks and "hooks       " in plan.describe()
    for bad, message in ((tmp_path / "hooks.txt", "is not a Python file"),
                         (tmp_path / "my-hooks.py", "must be a Python module name")):
        bad.write_text("")
        with pytest.raises(UsageError, match=message):
            make_plan(replace(OPTS, hooks=bad), MULTI)
    with pytest.raises(UsageError, match="'bchlib>=' is not a pip requirement"):
        make_plan(replace(OPTS, hooks=hooks, hook_requirements=("bchlib>=",)), MULTI)


def test_an_api_path_is_planned_and_a_bad_one_named() -> None:
    planned = make_plan(replace(OPTS, api_path="/decode"), MNIST)
    assert planned.api_path == "/decode" and "api path    /decode" in planned.describe()
    assert make_plan(OPTS, MNIST).api_path is None
    for bad in ("decode", "/de code"):
        with pytest.raises(UsageError, match="api_path.*an API path starts with /"):
            make_plan(replace(OPTS, api_path=bad), MNIST)


TFLITE = replace(MNIST, format=ModelFormat.TFLITE, tf_version=None, variant="int8",
                 activations=("softmax",), inputs=SIGNAL.inputs, outputs=SIGNAL.outputs)


def test_a_tflite_is_planned_as_the_one_variant_it_is() -> None:
    plan = make_plan(OPTS, TFLITE)
    assert plan.variants == ("int8",) and plan.skipped == ()
    assert [(o.kind, o.activation) for o in plan.outputs] == [("classes", "softmax")]
    assert "read with LiteRT, no TensorFlow" in plan.describe()
    with pytest.raises(UsageError, match="quantized variants need the original TensorFlow"):
        make_plan(replace(OPTS, variants=("float32", "dynamic")), TFLITE)
    with pytest.raises(UsageError, match=r"calibration, tags: mnist\.keras is a \.tflite file"):
        make_plan(replace(OPTS, calibration=Path("c.npz"), tags=("serve",)), TFLITE)


def test_onnx_adds_its_two_files_to_the_plan_and_not_to_a_tflite() -> None:
    plan = make_plan(replace(OPTS, onnx=True), MNIST)
    assert plan.onnx_variants == ("onnx_float32", "onnx_dynamic")
    assert plan.files()[-2:] == ("model.onnx", "model_dynamic.onnx")
    assert "onnx        onnx_float32, onnx_dynamic" in plan.describe()
    assert make_plan(OPTS, MNIST).onnx_variants == ()
    with pytest.raises(UsageError, match=r"^onnx: mnist\.keras is a \.tflite file"):
        make_plan(replace(OPTS, onnx=True), TFLITE)
