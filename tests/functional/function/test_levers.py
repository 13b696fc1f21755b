"""The cold-start levers (docs/BENCHMARKS.md, "Levers"): a warm-up inference at INIT (or at
SnapStart's before-snapshot, through AWS's real ``snapshot_restore_py`` and awslambdaric's
hooks runner), and Pillow's plugins registered at import for exactly the accepted formats."""

from __future__ import annotations

import base64
import io
import json
import random
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lambdalite.errors import UsageError
from lambdalite.function.app import create_app
from lambdalite.function.backends import load_backend
from lambdalite.function.config import FunctionConfig
from lambdalite.function.warmup import rehearsal_event
from lambdalite.manifest import Hooks, Manifest

from .conftest import CountingBackend


def _records(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _counting(served, **config: object) -> tuple[FunctionConfig, CountingBackend]:
    cfg = FunctionConfig(model_dir=served.model_dir, **config)  # type: ignore[arg-type]
    return cfg, CountingBackend(load_backend(cfg, Manifest.load(served.model_dir)))


class ShapeRecorder(CountingBackend):
    def predict(self, batch):  # type: ignore[no-untyped-def, override]
        self.seen = {k: (v.shape, v.dtype.name, float(np.abs(v).sum())) for k, v in batch.items()}
        return super().predict(batch)


def test_warmup_runs_one_zeros_inference_at_init_and_logs_its_cost(served):
    cfg = FunctionConfig(model_dir=served.model_dir)
    backend = ShapeRecorder(load_backend(cfg, Manifest.load(served.model_dir)))
    out = io.StringIO()
    app = create_app(cfg, backend=backend, stream=out)
    assert backend.calls == 1
    spec = app.manifest.inputs[0]
    shape = tuple(1 if d < 0 else d for d in spec.shape)
    assert backend.seen == {spec.name: (shape, spec.dtype, 0.0)}
    init = _records(out)[0]
    assert init["message"] == "init" and isinstance(init["warmup_ms"], float)
    assert init["warmup_ms"] >= 0.0 and init["warmup"] == "on (auto)"
    answer = app({"image": served.samples[0].b64}, None)
    assert answer == {"predicted_label": served.samples[0].label}   # unchanged by the warm-up
    assert backend.calls == 2


def test_warmup_off_runs_no_inference(served):
    cfg, backend = _counting(served, warmup=False)
    out = io.StringIO()
    create_app(cfg, backend=backend, stream=out)
    assert backend.calls == 0
    init = _records(out)[0]
    assert init["warmup_ms"] is None and init["warmup"] == "off (LAMBDALITE_WARMUP)"


class BigModel(CountingBackend):
    """A real backend reporting a big model file (sparse: no disk used)."""

    def __init__(self, inner, path):  # type: ignore[no-untyped-def]
        super().__init__(inner)
        self.model_path = path


@pytest.mark.parametrize(("size_mb", "explicit", "calls"), [(33, None, 0), (32, None, 1),
                                                            (33, True, 1), (1, False, 0)])
def test_auto_warms_small_models_only(served, tmp_path, size_mb, explicit, calls):
    big = tmp_path / "big.tflite"
    with big.open("wb") as f:
        f.truncate(size_mb * 1024 * 1024)
    cfg = FunctionConfig(model_dir=served.model_dir, warmup=explicit)
    backend = BigModel(load_backend(cfg, Manifest.load(served.model_dir)), big)
    out = io.StringIO()
    create_app(cfg, backend=backend, stream=out)
    assert backend.calls == calls
    init = _records(out)[0]
    if explicit is None and calls == 0:
        assert init["warmup"] == ("off (auto: the model is 33 MB, over 32 MB; "
                                  "LAMBDALITE_WARMUP=on to warm it)")


@pytest.mark.parametrize(("raw", "expected"), [("off", False), ("0", False), ("No", False),
                                               ("on", True), ("1", True), ("", None),
                                               ("auto", None)])
def test_warmup_switch_from_the_environment(raw, expected):
    env = {"LAMBDALITE_MODEL_DIR": "/m", "LAMBDALITE_WARMUP": raw}
    assert FunctionConfig.from_environ(env, lambda: 1).warmup is expected
    assert FunctionConfig.from_environ({"LAMBDALITE_MODEL_DIR": "/m"}, lambda: 1).warmup is None


def test_a_bad_warmup_switch_is_named():
    with pytest.raises(UsageError, match="LAMBDALITE_WARMUP='later': use on, off or auto"):
        FunctionConfig.from_environ({"LAMBDALITE_WARMUP": "later"}, lambda: 1)


class Refusing(CountingBackend):
    def predict(self, batch):  # type: ignore[no-untyped-def, override]
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("tensor 0: zeros are not a valid input for this model")
        return self.inner.predict(batch)


def test_a_failed_warmup_is_logged_and_init_goes_on(served):
    cfg = FunctionConfig(model_dir=served.model_dir)
    backend = Refusing(load_backend(cfg, Manifest.load(served.model_dir)))
    out = io.StringIO()
    app = create_app(cfg, backend=backend, stream=out)
    warning, init = _records(out)[:2]
    assert warning["level"] == "WARNING" and "warm-up inference failed" in warning["message"]
    assert warning["error_type"] == "RuntimeError" and "zeros" in warning["error"]
    assert init["warmup_ms"] is None
    assert app({"image": served.samples[0].b64}, None) == {
        "predicted_label": served.samples[0].label}


# ---- SnapStart: AWS's snapshot_restore_py, run by awslambdaric's own hooks runner ----------

@pytest.fixture
def runtime_hooks():
    snapshot_restore_py = pytest.importorskip("snapshot_restore_py")
    from awslambdaric import lambda_runtime_hooks_runner

    before, after = snapshot_restore_py.get_before_snapshot(), snapshot_restore_py.get_after_restore()
    saved = list(before), list(after)
    before.clear()
    after.clear()
    yield lambda_runtime_hooks_runner
    before[:], after[:] = saved


def test_snapstart_warms_before_the_snapshot_and_reseeds_after_restore(served, runtime_hooks,
                                                                       monkeypatch):
    from lambdalite.function import decode

    cfg, backend = _counting(served, snap_start=True)
    out = io.StringIO()
    app = create_app(cfg, backend=backend, stream=out)
    assert backend.calls == 0                       # not at INIT: at before-snapshot
    assert _records(out)[0]["warmup"] == "before snapshot (auto: SnapStart)"
    monkeypatch.setattr(decode, "_loaded", {"PNG"})  # as a fresh INIT leaves it
    runtime_hooks.run_before_snapshot()
    assert backend.calls == 1
    assert decode._loaded == set(decode.FORMATS)   # every plugin, kept by the snapshot
    snap = _records(out)[1]
    assert snap["message"] == "before snapshot" and isinstance(snap["warmup_ms"], float)

    random.seed(1234)
    np.random.seed(1234)
    shared = random.random(), np.random.random()    # what every restored copy would draw
    random.seed(1234)
    np.random.seed(1234)
    runtime_hooks.run_after_restore()
    assert (random.random(), np.random.random()) != shared
    restored = _records(out)[-1]
    assert restored["message"] == "restored from snapshot"
    assert restored["reseeded"] == ["random", "numpy.random"]
    assert app({"image": served.samples[0].b64}, None) == {
        "predicted_label": served.samples[0].label}


def test_snapstart_with_warmup_off_registers_only_the_reseed(served, runtime_hooks):
    cfg, backend = _counting(served, snap_start=True, warmup=False)
    out = io.StringIO()
    create_app(cfg, backend=backend, stream=out)
    runtime_hooks.run_before_snapshot()
    runtime_hooks.run_after_restore()
    assert backend.calls == 0
    assert [r["message"] for r in _records(out)] == ["init", "restored from snapshot"]


def test_snapstart_without_the_runtime_module_warms_at_init(served, monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)   # import -> ImportError
    cfg, backend = _counting(served, snap_start=True)
    out = io.StringIO()
    create_app(cfg, backend=backend, stream=out)
    assert backend.calls == 1
    warning, init = _records(out)[:2]
    assert "no snapshot_restore_py" in warning["message"]
    assert isinstance(init["warmup_ms"], float) and init["warmup"] == "on (auto: SnapStart)"


def test_snap_start_is_read_from_the_initialization_type():
    env = {"LAMBDALITE_MODEL_DIR": "/m"}
    assert FunctionConfig.from_environ(env, lambda: 1).snap_start is False
    for kind, expected in [("snap-start", True), ("on-demand", False),
                           ("provisioned-concurrency", False)]:
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = kind
        assert FunctionConfig.from_environ(env, lambda: 1).snap_start is expected


# ---- Pillow's plugins: PNG's at import, each other accepted format's at its first image -----

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
PLUGINS = """
import json, sys
from PIL import Image
images = json.load(sys.stdin)   # [[format, base64]], made by the test (saving imports plugins)
plugins = lambda: sorted(m for m in sys.modules if m.startswith("PIL.") and "Plugin" in m)
import lambdalite.function.decode as decode
from lambdalite.function.errors import NotAnImage
from lambdalite.function.events import EncodedImage
steps = [["import", plugins()]]
sizes = {}
for fmt, b64 in images:
    [img] = decode.decode_images([EncodedImage(b64.encode(), True)], decode.DecodeLimits(10**6))
    sizes[fmt] = [img.width, img.height]
    steps.append([fmt, plugins()])
try:
    decode.decode_images([EncodedImage(b"%PDF-1.4 not an image", False)],
                         decode.DecodeLimits(10**6))
except NotAnImage as exc:
    refused = exc.message
steps.append(["not an image", plugins()])
print(json.dumps({"steps": steps, "sizes": sizes, "refused": refused,
                  "initialized": Image._initialized}))
"""
MODULES = {"PNG": "PIL.PngImagePlugin", "JPEG": "PIL.JpegImagePlugin",
           "GIF": "PIL.GifImagePlugin", "BMP": "PIL.BmpImagePlugin", "WEBP": "PIL.WebPImagePlugin"}


def _plugin_steps(order: tuple[str, ...]) -> dict:
    # A fresh interpreter: which plugins are imported depends on what ran before.
    images = []
    for fmt in order:
        buf = io.BytesIO()
        Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, fmt)
        images.append([fmt, base64.b64encode(buf.getvalue()).decode()])
    proc = subprocess.run([sys.executable, "-c", PLUGINS], input=json.dumps(images),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_each_accepted_format_registers_its_own_plugin_at_its_first_image():
    seen = _plugin_steps(("JPEG", "PNG", "GIF", "JPEG", "BMP", "WEBP"))
    assert seen["sizes"] == {f: [40, 30] for f in FORMATS}
    assert "is not a supported image" in seen["refused"]
    loaded = {"PIL.PngImagePlugin"}             # at import: PNG only (25 M instructions less)
    assert seen["steps"][0] == ["import", sorted(loaded)]
    for fmt, modules in seen["steps"][1:-1]:     # each format adds its plugin, and no other
        loaded.add(MODULES[fmt])
        assert modules == sorted(loaded), fmt
    # A file no magic bytes name: every accepted plugin is tried (none of PPM, EPS, ... and
    # Image.init, all ~45 plugins, never ran).
    assert seen["steps"][-1] == ["not an image", sorted(MODULES.values())]
    assert seen["initialized"] == 1


def test_a_file_no_magic_bytes_name_loads_every_accepted_plugin_once_and_is_refused():
    seen = _plugin_steps(())
    assert seen["steps"] == [["import", ["PIL.PngImagePlugin"]],
                             ["not an image", sorted(MODULES.values())]]
    assert "PNG, JPEG, GIF, BMP, WEBP" in seen["refused"]


EXTRA_AT_INIT = r"""
import json, os, sys
import numpy, PIL.Image, ai_edge_litert.interpreter     # the imports-only floor
floor = set(sys.modules)
from lambdalite.function.app import create_app
from lambdalite.function.config import FunctionConfig
app = create_app(FunctionConfig(model_dir=sys.argv[1]), stream=open(os.devnull, "w"))
app({"image": sys.stdin.read()}, None)
print(json.dumps(sorted(set(sys.modules) - floor)))
"""


def test_init_and_a_request_import_neither_dataclasses_nor_pathlib(served):
    # Both are the function's own cost over the floor (python3.12: 97 M and 22 M instructions
    # of INIT, docs/BENCHMARKS.md): its records are `Record`s and its paths os.path strings;
    # `copy` (2 M) only an OptionError's rename needs. A model without hooks or a weight cache
    # imports neither module; and the function reads Lambda's quotas from lambda_quotas, not
    # lambda_facts' tables (3.2 M instructions).
    proc = subprocess.run([sys.executable, "-c", EXTRA_AT_INIT, str(served.model_dir)],
                          input=served.samples[0].b64, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    extra = json.loads(proc.stdout.splitlines()[-1])
    assert "lambdalite.function.app" in extra       # the probe measured the function
    assert [m for m in extra if m in ("dataclasses", "pathlib", "copy", "lambdalite.function.hooks",
                                      "lambdalite.function.backends.weight_cache",
                                      "lambdalite.lambda_facts")] == []
    assert "lambdalite.lambda_quotas" in extra


def test_an_image_model_warms_up_through_the_request_chain_and_logs_nothing_of_it(served):
    cfg = FunctionConfig(model_dir=served.model_dir)
    backend = CountingBackend(load_backend(cfg, Manifest.load(served.model_dir)))
    out = io.StringIO()
    app = create_app(cfg, backend=backend, stream=out)
    (init,) = _records(out)   # the rehearsal's prediction line and metrics went nowhere
    assert init["warmup_path"] == "request" and backend.calls == 1
    app({"image": served.samples[0].b64}, None)
    records = _records(out)
    assert [r["cold_start"] for r in records if r.get("message") == "prediction"] == [True]
    assert [r["ColdStart"] for r in records if "_aws" in r] == [1]


def test_the_request_rehearsal_is_for_one_image_input_and_no_hooks_only(served):
    manifest = Manifest.load(served.model_dir)
    event = rehearsal_event(manifest)
    assert event is not None
    pre = manifest.inputs[0].preprocessing
    with Image.open(io.BytesIO(base64.b64decode(event["image"]))) as picture:
        assert (picture.format, picture.size, picture.mode) == (
            "PNG", (pre.width, pre.height), pre.color_mode)
    # a hook's code never runs on made-up data; a tensor input has no picture to make
    assert rehearsal_event(manifest._replace(hooks=Hooks())) is None
    tensor = manifest.inputs[0]._replace(kind="tensor", preprocessing=None)
    assert rehearsal_event(manifest._replace(inputs=[tensor])) is None
