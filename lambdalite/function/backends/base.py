"""The Backend protocol and the factory that picks one from the configuration.

A backend takes the model's inputs by the manifest's names (each already of the input's
dtype and shape) and returns every output by name, float outputs as float32 whatever the
model's own tensor types are (quantized int8 models are quantized on the way in and
dequantized on the way out).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from lambdalite.function.config import FunctionConfig
    from lambdalite.manifest import Manifest, Variant

# The weight cache's sidecar (weight_cache.py): the model file's name + this. Here, so that
# a package without a cache finds out without importing weight_cache.
SIDECAR_SUFFIX = ".xnnpack_cache.json"


class Backend(Protocol):
    name: str

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every input by name in (N, ...), every output by name out (N, ...), row for row."""
        ...

    def describe(self) -> dict[str, Any]:
        """Facts for the INIT log line (threads, delegate, batching)."""
        ...


def chosen_variant(config: FunctionConfig, manifest: Manifest) -> Variant:
    """The variant the function serves: LAMBDALITE_VARIANT (else the manifest's default) as
    LAMBDALITE_BACKEND runs it (``Manifest.variant_for``: with onnxruntime, ``dynamic`` means
    ``onnx_dynamic``; unset, the file's own backend)."""
    return manifest.variant_for(config.variant, config.backend.value if config.backend else None)


def load_backend(config: FunctionConfig, manifest: Manifest) -> Backend:
    from lambdalite.errors import ModelError
    from lambdalite.function.config import BackendName

    if config.backend is BackendName.TF:
        # Deferred: TensorFlow is imported only when this backend is chosen.
        from lambdalite.function.backends.tf import TFBackend

        if not manifest.model.tf_model:
            raise ModelError(
                "LAMBDALITE_BACKEND=tf but the manifest has no model.tf_model: re-run "
                "`lambdalite convert MODEL --out DIR --keep-tf-model` to keep the TensorFlow "
                "model next to the variants, or set LAMBDALITE_BACKEND=litert"
            )
        return TFBackend(os.path.join(config.model_dir, manifest.model.tf_model),
                         config.num_threads, [i.name for i in manifest.inputs],
                         [o.name for o in manifest.outputs])

    variant = chosen_variant(config, manifest)
    names = ([i.name for i in manifest.inputs], [o.name for o in manifest.outputs])
    path = os.path.join(config.model_dir, variant.file)
    if variant.format == "onnx":
        # Deferred: onnxruntime is imported only for an ONNX variant (a LiteRT package lacks it).
        from lambdalite.function.backends.onnxruntime import OnnxRuntimeBackend

        return OnnxRuntimeBackend(path, config.num_threads, variant, *names)
    cached, note = _with_weight_cache(path, variant, manifest, config)
    if cached is not None:
        return cached

    from lambdalite.function.backends.litert import LiteRTBackend

    backend = LiteRTBackend(path, config.num_threads, variant, *names)
    backend.weight_cache = note
    return backend


def _with_weight_cache(path: str, variant: Variant, manifest: Manifest, config: FunctionConfig
                       ) -> tuple[Backend | None, str | None]:
    """The CompiledModel backend when the package ships a weight cache that matches here, else
    (None, why not: "ignored: ..."; None without a cache)."""
    # A package without a cache (most) checks one file name and imports nothing more.
    sidecar = path + SIDECAR_SUFFIX   # weight_cache.sidecar_path, without importing it
    if not os.path.isfile(sidecar):
        return None, None
    from lambdalite.function.backends import weight_cache as wc

    cache = wc.cache_path(path)
    try:
        import ai_edge_litert

        with open(sidecar) as text:
            facts = wc.CacheFacts.from_json(text.read())
        machine, flags = wc.this_cpu()
        why = wc.mismatch(facts, variant=variant.name, model_sha256=variant.sha256,
                          model_bytes=os.path.getsize(path),
                          cache_bytes=os.path.getsize(cache) if os.path.isfile(cache) else -1,
                          litert_version=str(getattr(ai_edge_litert, "__version__", "?")),
                          machine=machine, flags=flags)
        if why is not None:
            return None, f"ignored: {why}"
        from lambdalite.function.backends.compiled import CompiledBackend

        return CompiledBackend(path, cache, config.num_threads, manifest.inputs,
                               [o.name for o in manifest.outputs]), "used"
    except Exception as exc:  # noqa: BLE001 - a cache is an optimisation: the Interpreter serves
        return None, f"ignored: {type(exc).__name__}: {str(exc)[:200]}"
