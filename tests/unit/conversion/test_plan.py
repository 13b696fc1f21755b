"""Planning is pure: options + the model's facts -> a frozen plan (no TensorFlow)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lambdalite.conversion.errors import CalibrationRequired, UsageError
from lambdalite.conversion.formats import ModelFacts, ModelFormat
from lambdalite.conversion.plan import ConvertOptions, make_plan, preprocessing_for

MNIST = ModelFacts(
    format=ModelFormat.SAVED_MODEL_TF2,
    input_shape=(-1, 28, 28, 1),
    input_dtype="float32",
    output_shape=(-1, 10),
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
    plan = make_plan(OPTS, replace(MNIST, input_dtype="uint8"))
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
