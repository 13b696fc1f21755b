"""Environment variable names the inference function reads, in one place.

The function (``lambdalite.function``), the SAM template writer and the local
runner all use these constants. Stdlib only: ships inside the Lambda package.
"""

MODEL_DIR = "LAMBDALITE_MODEL_DIR"          # folder with manifest.json (default: $LAMBDA_TASK_ROOT/model)
VARIANT = "LAMBDALITE_VARIANT"              # float32 | dynamic | float16 | int8 (default: the manifest's default)
BACKEND = "LAMBDALITE_BACKEND"              # litert | tf (default: litert)
NUM_THREADS = "LAMBDALITE_NUM_THREADS"      # default: what MemorySize buys (1 vCPU per 1769 MB)
MAX_IMAGES = "LAMBDALITE_MAX_IMAGES"        # cap on images per request (default 16)
MAX_PIXELS = "LAMBDALITE_MAX_PIXELS"        # decoded-pixel cap per image, against image bombs
MAX_REQUEST_PIXELS = "LAMBDALITE_MAX_REQUEST_PIXELS"  # decoded pixels per request (default: from MemorySize)
MAX_BATCH = "LAMBDALITE_MAX_BATCH"          # cap on rows (the batch dimension) of a request's tensors (default 1024)
LOG_LEVEL = "LAMBDALITE_LOG_LEVEL"          # DEBUG | INFO | WARNING | ERROR (default INFO)
METRICS_NAMESPACE = "LAMBDALITE_METRICS_NAMESPACE"  # CloudWatch EMF namespace (default "lambdalite")

# Set by Lambda itself; read by the function.
LAMBDA_MEMORY = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
LAMBDA_TASK_ROOT = "LAMBDA_TASK_ROOT"
LAMBDA_FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"

ALL_FUNCTION_VARS = (
    MODEL_DIR, VARIANT, BACKEND, NUM_THREADS, MAX_IMAGES, MAX_PIXELS, MAX_REQUEST_PIXELS,
    MAX_BATCH, LOG_LEVEL, METRICS_NAMESPACE,
)

# Read by lambdalite's own tools, never by the function.
CACHE_DIR = "LAMBDALITE_CACHE_DIR"          # `lambdalite predict`'s cached builds (default ~/.cache/lambdalite/predict)
# Set by `lambdalite bench --remote` (UpdateFunctionConfiguration), never read: a new value
# recycles the function's execution environments, so the next call is a forced cold start.
BENCH_COLD_START = "LAMBDALITE_BENCH_COLD_START"
