"""Lambda's quotas, as numbers: sizes, payloads, timeouts, memory and its CPU share.

Sources (AWS Lambda developer guide): "Lambda quotas", "Configure Lambda function memory"
(1,769 MB = one vCPU). Stdlib only and no imports: the function package ships this module (and
not ``lambda_facts``, which reads these from here with the runtime and architecture tables).
"""

MB = 1024 * 1024
MEMORY_MIN_MB = 128
MEMORY_MAX_MB = 10240
EPHEMERAL_MIN_MB, EPHEMERAL_MAX_MB = 512, 10240   # EphemeralStorage.Size (/tmp)
MB_PER_VCPU = 1769            # "at 1,769 MB, a function has the equivalent of one vCPU"
MAX_VCPUS = 6
INIT_TIMEOUT_S = 10.0         # on-demand INIT phase limit
TIMEOUT_MAX_S = 900
SYNC_PAYLOAD_LIMIT = 6 * MB   # request and response, synchronous invoke
ASYNC_PAYLOAD_LIMIT = 1 * MB  # asynchronous invoke (Event) payload limit (1 MB since 2025)
ZIP_DIRECT_UPLOAD_LIMIT = 50 * MB
ZIP_UNZIPPED_LIMIT = 250 * MB
IMAGE_SIZE_LIMIT = 10 * 1024 * MB
ENVIRONMENT_LIMIT_BYTES = 4096   # a function's environment variables, keys and values together
EPHEMERAL_STORAGE_DEFAULT_MB = 512
