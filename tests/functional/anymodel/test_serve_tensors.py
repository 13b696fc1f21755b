"""Models that are not image classifiers, converted and served: the manifest says what they
take and give, JSON and .npy tensors go in, every output comes back as its kind says, and
every bad tensor is a 400 (or 413) that names the input."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from lambdalite.errors import ClientError
from lambdalite.function.errors import BatchTooLarge, InvalidInput, InvalidRequest, PayloadTooLarge
from lambdalite.manifest import Manifest

from .conftest import Models, npy_b64

pytestmark = pytest.mark.tf
RNG = np.random.default_rng(3)


def http(body: str | bytes, content_type: str = "application/json", b64: bool = False) -> dict:
    raw = body.encode() if isinstance(body, str) else body
    return {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST"}, "domainName": "x.execute-api.on.aws"},
        "headers": {"content-type": content_type},
        "body": base64.b64encode(raw).decode() if b64 else raw.decode(),
        "isBase64Encoded": b64,
    }


def test_manifests_describe_each_model(models: Models) -> None:
    signal = Manifest.load(models("signal").out)
    (inp,) = signal.inputs
    assert (inp.name, inp.kind, inp.dtype, inp.shape) == ("signal", "tensor", "float32",
                                                           [-1, -1, 1])
    (out,) = signal.outputs
    assert (out.kind, out.activation, out.labels) == ("classes", "softmax", ["low", "mid", "high"])

    multi = Manifest.load(models("multi_in").out)
    kinds = {i.name: (i.kind, i.dtype, i.shape) for i in multi.inputs}
    assert kinds == {"pixels": ("image", "float32", [-1, 12, 12, 1]),
                     "meta": ("tensor", "float32", [-1, 4]),
                     "category": ("tensor", "int32", [-1, 1])}
    assert multi.image_input is not None and multi.image_input.preprocessing is not None

    multi_out = Manifest.load(models("multi_out").out)
    assert {o.name: o.kind for o in multi_out.outputs} == {
        "embedding": "tensor", "flags": "bits", "probs": "classes"}
    tabular = Manifest.load(models("tabular").out)
    assert [(o.kind, o.shape) for o in tabular.outputs] == [("tensor", [-1, 1])]


def test_a_signal_of_any_length_as_json_and_npy(models: Models, serve) -> None:
    built = models("signal")
    app = serve(built.out)
    for length in (16, 50, 16):  # the dynamic dimension is resized per request, and back
        x = RNG.normal(size=(2, length, 1)).astype(np.float32)
        want = built.keras({"signal": x})["output_0"].argmax(axis=1).tolist()
        got = app({"inputs": x.tolist()})
        assert [p["predicted_label"] for p in got["predictions"]] == want
        assert got == app({"inputs": {"npy": npy_b64(x)}}) == app({"inputs": {"signal": x.tolist()}})
    top = app({"inputs": x[:1].tolist(), "top_k": 2})["predictions"][0]
    probs = built.keras({"signal": x[:1]})["output_0"][0]
    assert [r["label"] for r in top["top_k"]] == [
        ["low", "mid", "high"][i] for i in np.argsort(-probs)[:2]]
    assert top["top_k"][0]["probability"] == pytest.approx(float(probs.max()), abs=1e-5)


def test_tabular_values_come_back_as_tensors(models: Models, serve) -> None:
    built = models("tabular")
    app = serve(built.out)
    x = RNG.normal(size=(5, 8)).astype(np.float32)
    want = built.keras({"features": x})["output_0"]
    got = app({"inputs": x.tolist()})
    assert list(got) == ["outputs"] and list(got["outputs"]) == ["output_0"]
    np.testing.assert_allclose(np.array(got["outputs"]["output_0"]), want, atol=1e-5)
    # Integers are numbers too; top_k needs a classes or scores output.
    assert app({"inputs": [[1, 2, 3, 4, 5, 6, 7, 8]]})["outputs"]["output_0"][0][0] == pytest.approx(
        float(built.keras({"features": np.arange(1, 9, dtype=np.float32)[None]})["output_0"][0][0]),
        abs=1e-5)
    with pytest.raises(InvalidRequest, match="top_k ranks a classes or scores output"):
        app({"inputs": x.tolist(), "top_k": 1})


def test_several_inputs_by_name_and_the_image_input_as_a_picture(models: Models, serve) -> None:
    built = models("multi_in")
    app = serve(built.out)
    pixels = RNG.integers(0, 256, size=(1, 12, 12, 1)).astype(np.uint8)
    meta = RNG.normal(size=(1, 4)).astype(np.float32)
    category = np.array([[7]], np.int32)
    want = built.keras({"pixels": pixels / np.float32(255), "meta": meta,
                        "category": category})["output_0"].argmax(axis=1).tolist()
    as_tensors = app({"inputs": {"pixels": (pixels / 255.0).tolist(), "meta": meta.tolist(),
                                 "category": category.tolist()}})
    assert [p["predicted_label"] for p in as_tensors["predictions"]] == want
    buf = io.BytesIO()
    Image.fromarray(pixels[0, :, :, 0], "L").save(buf, "PNG")
    png = base64.b64encode(buf.getvalue()).decode()
    as_image = app({"image": png, "inputs": {"meta": meta.tolist(), "category": [[7]]}})
    assert as_image == {"predicted_label": want[0]}
    with pytest.raises(InvalidInput, match='the model has 3 inputs: name each one, '
                                           r'\{"inputs": \{"pixels": \.\.\., "meta"'):
        app({"inputs": meta.tolist()})
    with pytest.raises(InvalidInput, match="missing input category"):
        app({"image": png, "inputs": {"meta": meta.tolist()}})
    with pytest.raises(InvalidInput, match="pixels was sent twice"):
        app({"image": png, "inputs": {"pixels": (pixels / 255.0).tolist(), "meta": meta.tolist(),
                                      "category": [[7]]}})
    with pytest.raises(InvalidInput, match="disagree on the batch size"):
        app({"image": png, "inputs": {"meta": np.zeros((2, 4)).tolist(), "category": [[7]]}})
    with pytest.raises(InvalidInput, match=r"category.*\[0\]\[0\] is 1.5, not an integer"):
        app({"image": png, "inputs": {"meta": meta.tolist(), "category": [[1.5]]}})
    with pytest.raises(InvalidInput, match="outside int32's range"):
        app({"image": png, "inputs": {"meta": meta.tolist(), "category": [[2**40]]}})


def test_every_output_by_its_kind(models: Models, serve) -> None:
    built = models("multi_out")
    app = serve(built.out)
    x = RNG.normal(size=(3, 6)).astype(np.float32)
    want = built.keras({"x": x})
    got = app({"inputs": x.tolist()})["outputs"]
    assert set(got) == {"probs", "flags", "embedding"}
    np.testing.assert_allclose(np.array(got["embedding"]), want["embedding"], atol=1e-5)
    assert got["flags"] == (want["flags"] > 0.5).astype(int).tolist()
    assert [p["index"] for p in got["probs"]] == want["probs"].argmax(axis=1).tolist()
    assert got["probs"][0]["score"] == pytest.approx(float(want["probs"][0].max()), abs=1e-5)
    ranked = app({"inputs": x.tolist(), "top_k": 2})["outputs"]["probs"]
    assert [len(row) for row in ranked] == [2, 2, 2]
    assert [r["index"] for r in ranked[0]] == np.argsort(-want["probs"][0])[:2].tolist()


def test_http_bodies_json_and_raw_npy(models: Models, serve) -> None:
    built = models("tabular")
    app = serve(built.out)
    x = RNG.normal(size=(2, 8)).astype(np.float32)
    want = app({"inputs": x.tolist()})
    as_json = app(http(json.dumps({"inputs": x.tolist()})))
    assert as_json["statusCode"] == 200 and json.loads(as_json["body"]) == want
    buf = io.BytesIO()
    np.save(buf, x)
    for b64 in (True, False):  # binary (isBase64Encoded), or the .npy's base64 as text
        raw = buf.getvalue() if b64 else base64.b64encode(buf.getvalue())
        out = app(http(raw, "application/x-npy", b64=b64))
        assert out["statusCode"] == 200 and json.loads(out["body"]) == want
    bad = app(http(json.dumps({"inputs": [[1, 2]]})))
    assert bad["statusCode"] == 400
    error = json.loads(bad["body"])["error"]
    assert error["type"] == "InvalidInput"
    assert "has shape [1, 2]; the input features takes float32 [-1, 8]" in error["message"]


@pytest.mark.parametrize(
    ("inputs", "error", "message"),
    [
        ([[1.0] * 7], InvalidInput, r"shape \[1, 7\]; the input features takes float32 \[-1, 8\] "
                                    r"\(-1: any size\): dimension 1 must be 8"),
        ([1.0] * 8, InvalidInput, r"rank 1 \(shape \[8\]\).*wrap a single example in a list"),
        ({"feature": [[0.0] * 8]}, InvalidInput, "no input named 'feature'; the model takes "
                                                 r"features \(float32 \[-1, 8\]\)"),
        ({}, InvalidInput, '"inputs" is empty'),
        ([[0.0] * 8, [0.0] * 7], InvalidInput, "is ragged: element 0 is a list of 8 but element 1 "
                                               "is a list of 7"),
        ([["a"] * 8], InvalidInput, r"\[0\]\[0\] is the string 'a'; send numbers"),
        ([[None] * 8], InvalidInput, r"\[0\]\[0\] is null"),
        ([[True] * 8], InvalidInput, "holds true/false"),
        ([[float("nan")] + [0.0] * 7], InvalidInput, r"\[0\]\[0\] is nan; the input features takes .*finite numbers only"),
        ([[float("inf")] * 8], InvalidInput, "is inf"),
        ([[1e300] * 8], InvalidInput, "too large for float32"),
        ({"npy": "!!!"}, InvalidInput, "not valid base64"),
        ({"npy": base64.b64encode(b"PK\x03\x04zip").decode()}, InvalidInput, "not a .npy file"),
        ("1,2,3", InvalidInput, "is a string"),
        ([[0.0] * 8] * 1025, BatchTooLarge, "1025 rows; the limit is 1024 .LAMBDALITE_MAX_BATCH."),
        ([[0.0] * 8] * 400_000, PayloadTooLarge, "about 3200000 numbers"),
        ([], InvalidInput, "rank 1"),
    ],
)
def test_bad_tensors_are_client_errors_that_say_what_was_wrong(
    models: Models, serve, inputs, error, message
) -> None:
    app = serve(models("tabular").out)
    with pytest.raises(error, match=message) as info:
        app({"inputs": inputs})
    assert isinstance(info.value, ClientError) and info.value.status in (400, 413)
    assert app({"inputs": [[0.0] * 8]})["outputs"]  # and the function keeps serving


def test_npy_dtypes(models: Models, serve) -> None:
    app = serve(models("multi_in").out)
    pixels = np.zeros((1, 12, 12, 1), np.float64)  # float64 into float32: cast
    base = {"pixels": {"npy": npy_b64(pixels)}, "meta": {"npy": npy_b64(np.zeros((1, 4)))}}
    assert app({"inputs": {**base, "category": {"npy": npy_b64(np.array([[3]], np.int64))}}})
    with pytest.raises(InvalidInput, match="is a .npy of dtype float32; the input category takes int32"):
        app({"inputs": {**base, "category": {"npy": npy_b64(np.array([[3.0]], np.float32))}}})
    with pytest.raises(InvalidInput, match="dtype complex128"):
        app({"inputs": {**base, "category": {"npy": npy_b64(np.array([[3j]]))}}})
    objects = np.array([[{"a": 1}]], dtype=object)
    buf = io.BytesIO()
    np.save(buf, objects, allow_pickle=True)
    with pytest.raises(InvalidInput, match="object arrays are not accepted"):
        app({"inputs": {**base, "category": {"npy": base64.b64encode(buf.getvalue()).decode()}}})


def test_a_json_list_near_lambdas_6_mb_limit_works(models: Models, serve) -> None:
    built = models("signal")
    app = serve(built.out)
    x = RNG.uniform(0.1, 0.9, size=(1, 500_000, 1)).round(6)  # "[0.123456], ": 12 bytes
    body = json.dumps({"inputs": x.tolist()})
    assert 5_000_000 < len(body) < 6 * 1024 * 1024
    out = app(http(body))
    assert out["statusCode"] == 200
    want = int(built.keras({"signal": x.astype(np.float32)})["output_0"].argmax())
    assert json.loads(out["body"]) == {
        "predictions": [{"predicted_label": want, "label": ["low", "mid", "high"][want]}]}
    too_big = app(http(json.dumps({"inputs": np.zeros((1, 1_300_000, 1)).tolist()})))
    assert too_big["statusCode"] == 413


def test_int8_of_a_multi_input_model_calibrates_on_one_array_per_input(
    models: Models, serve, tmp_path
) -> None:
    from lambdalite.conversion.pipeline import convert
    from lambdalite.conversion.plan import ConvertOptions

    built = models("multi_in")
    calibration = tmp_path / "calibration.npz"
    n = 40
    np.savez(calibration, pixels=RNG.integers(0, 256, size=(n, 12, 12, 1)).astype(np.uint8),
             meta=RNG.normal(size=(n, 4)).astype(np.float32),
             category=RNG.integers(0, 10, size=(n, 1)).astype(np.int32))
    out = tmp_path / "int8"
    result = convert(ConvertOptions(model=built.source, out=out, variants=("float32", "int8"),
                                    calibration=calibration))
    assert [o.variant for o in result.outcomes if o.ok] == ["float32", "int8"], result.outcomes
    manifest = Manifest.load(out)
    assert manifest.variants["int8"].inputs[0].dtype == "int8"
    request = {"inputs": {"pixels": RNG.uniform(size=(3, 12, 12, 1)).tolist(),
                          "meta": RNG.normal(size=(3, 4)).tolist(), "category": [[1], [5], [9]]},
               "top_k": 5}

    def probs(variant: str) -> np.ndarray:
        rows = serve(out, variant=variant)(request)["predictions"]
        return np.array([[r["probability"] for r in sorted(p["top_k"], key=lambda r: r["index"])]
                         for p in rows])

    np.testing.assert_allclose(probs("int8"), probs("float32"), atol=0.1)


@pytest.mark.parametrize(("name", "as_saved_model"), [("multi_in", True), ("multi_out", False)])
def test_the_tensorflow_backend_serves_the_same_names(models: Models, serve, tmp_path,
                                                      name: str, as_saved_model: bool) -> None:
    """A SavedModel's signature keys and a Keras model's input names and dict outputs are the
    names the converted file keeps: both backends answer the same request alike."""
    import keras

    from lambdalite.conversion.pipeline import convert
    from lambdalite.conversion.plan import ConvertOptions
    from lambdalite.function.config import BackendName

    built = models(name)
    source = built.source
    if as_saved_model:
        source = tmp_path / "saved_model"
        keras.models.load_model(built.source, compile=False).export(str(source), verbose=False)
    out = tmp_path / "out"
    kinds = {"output_kinds": {"flags": "bits"}} if name == "multi_out" else {}
    convert(ConvertOptions(model=source, out=out, variants=("float32",), keep_tf_model=True,
                           **kinds))
    manifest = Manifest.load(out)
    assert [i.name for i in manifest.inputs] == [i.name for i in Manifest.load(built.out).inputs]
    if name == "multi_in":
        request = {"inputs": {"pixels": RNG.uniform(size=(2, 12, 12, 1)).tolist(),
                              "meta": RNG.normal(size=(2, 4)).tolist(),
                              "category": [[3], [4]]}, "top_k": 5}
    else:
        request = {"inputs": RNG.normal(size=(2, 6)).tolist()}
    litert = serve(out)(request)
    tf = serve(out, backend=BackendName.TF)(request)
    assert tf.keys() == litert.keys()
    np.testing.assert_allclose(np.array(_numbers(tf)), np.array(_numbers(litert)), atol=1e-4)


def _numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [n for k in sorted(value) for n in _numbers(value[k])]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [float(value)] if isinstance(value, (int, float)) else []
