"""The inference function that runs inside AWS Lambda.

Handler string: ``lambdalite.function.handler.lambda_handler`` (importing that module
loads the model). Tests and tools build an app from an explicit configuration:

    from lambdalite.function.app import create_app
    from lambdalite.function.config import FunctionConfig
    app = create_app(FunctionConfig(model_dir=Path("lambdalite/examples/mnist/model")))
    app({"image": b64}, None)

This package imports only the standard library, numpy, Pillow, ai_edge_litert (or
tflite_runtime, where a package holds that instead), TensorFlow when LAMBDALITE_BACKEND=tf and
onnxruntime when the variant is an ONNX file; nothing is imported here on purpose. It runs on
Python 3.9 and newer (``compat.py``), the CLI on 3.11 and newer.

Records here and in the shared modules it imports (``manifest``) are ``lambdalite.records.Record``
tuples, neither dataclasses nor ``typing.NamedTuple``: on python3.12 a frozen dataclass compiles
six methods when its class is created (about 4.3 M instructions each, callgrind), a NamedTuple
evaluates its ``__new__`` and each string annotation (0.8-1.9 M), a Record nothing (~0.1 M). The
27 dataclasses were 97 M of the function's INIT (709 -> 612 M instructions), the NamedTuples
after them 21.5 M (the imports-only floor is 479 M). Change one with ``record._replace(...)``.
"""

# The import rule, as data: the build uses it to know what to ship, the tests enforce it.
RUNTIME_PACKAGES = ("numpy", "PIL", "ai_edge_litert", "tflite_runtime")
# The Lambda runtime's own (awslambdaric requires it; AWS's python3.12+ runtimes have it):
# imported only at a SnapStart INIT, guarded, never shipped by the build.
RUNTIME_PROVIDED = ("snapshot_restore_py",)
TF_PACKAGES = ("tensorflow", "keras")  # imported only by backends/tf.py, only when backend=tf
# imported only by backends/onnxruntime.py, only for an onnx_* variant
ONNX_PACKAGES = ("onnxruntime",)
SHARED_MODULES = (
    "lambdalite",
    "lambdalite.errors",
    "lambdalite.manifest",
    "lambdalite.envvars",
    "lambdalite.lambda_quotas",
    "lambdalite.records",
)
