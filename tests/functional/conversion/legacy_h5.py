"""Child process: write the tiny model as tf.keras 2.x writes it (legacy HDF5).

    python legacy_h5.py WEIGHTS.npz OUT.h5 SIDE CLASSES

Runs with TF_USE_LEGACY_KERAS=1 so that ``tf.keras`` is tf_keras (Keras 2), the
Keras the AWS SAM TensorFlow template's model was saved with. Same architecture and
weights as the Keras 3 model in conftest.py, so the same reference outputs apply.
"""

import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tiny_arch import build_tiny  # noqa: E402  (this script's folder is on sys.path)

weights_npz, out, side, classes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
keras = tf.keras
assert keras.__name__.startswith("tf_keras"), keras.__name__
model = build_tiny(keras, side, classes)
with np.load(weights_npz) as w:
    model.set_weights([w[f"arr_{i}"] for i in range(len(w.files))])
# Compiled, as a trained model is saved: the file carries training_config too.
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.save(out, save_format="h5")
