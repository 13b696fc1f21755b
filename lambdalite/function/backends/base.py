"""The Backend protocol and the factory that picks one from the configuration.

A backend takes the model's inputs by the manifest's names (each already of the input's
dtype and shape) and returns every output by name, float outputs as float32 whatever the
model's own tensor types are (quantized int8 models are quantized on the way in and
dequantized on the way out).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from lambdalite.function.config import FunctionConfig
    from lambdalite.manifest import Manifest, Variant


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
        return TFBackend(config.model_dir / manifest.model.tf_model, config.num_threads,
                         [i.name for i in manifest.inputs], [o.name for o in manifest.outputs])

    variant = chosen_variant(config, manifest)
    names = ([i.name for i in manifest.inputs], [o.name for o in manifest.outputs])
    if variant.format == "onnx":
        # Deferred: onnxruntime is imported only for an ONNX variant (a LiteRT package lacks it).
        from lambdalite.function.backends.onnxruntime import OnnxRuntimeBackend

        return OnnxRuntimeBackend(config.model_dir / variant.file, config.num_threads, variant,
                                  *names)
    from lambdalite.function.backends.litert import LiteRTBackend

    return LiteRTBackend(config.model_dir / variant.file, config.num_threads, variant, *names)
