"""numpy's BLAS on one thread, set before numpy is first imported: the function's entry points
(``handler``, ``floors.imports``) import this module first, for that effect alone.

numpy's wheels bundle OpenBLAS, which starts a worker thread for every CPU it sees beyond the
first as the library loads, and each worker polls for work (``sched_yield``) for a while before
it sleeps. A Lambda environment sees 2 vCPUs from 128 to 3008 MB (a third-party measurement,
rwnx/lambda-cpuinfo; AWS documents the share, not the count), so ``import numpy`` there burns
~100 ms more CPU than on one thread, inside a CPU share of 0.58 vCPU at 1024 MB: measured here
(python3.12, numpy 2.5, 2 CPUs), the import used 129-145 ms of CPU and its worker 41-52 ms more
in the second after, against 70-101 ms and nothing with one thread; docs/BENCHMARKS.md has what
it does to cold starts. The function does no BLAS work of its own (the model runs in LiteRT,
ONNX Runtime or TensorFlow, whose thread pools are their own), so one thread loses nothing.
A value the function's environment sets wins (``setdefault``): a hook with heavy matrix work
can ask for more threads in the template.
"""

import os

OPENBLAS_NUM_THREADS = "OPENBLAS_NUM_THREADS"   # read by OpenBLAS once, as it loads

os.environ.setdefault(OPENBLAS_NUM_THREADS, "1")
