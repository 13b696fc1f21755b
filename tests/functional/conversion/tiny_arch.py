"""The tiny CNN's architecture, shared by the Keras 3 fixture and the tf_keras child process."""

from __future__ import annotations

from typing import Any


def build_tiny(keras: Any, side: int, classes: int) -> Any:
    """``keras`` is Keras 3 or tf_keras (``tf.keras`` under TF_USE_LEGACY_KERAS=1)."""
    return keras.Sequential(
        [
            keras.Input((side, side, 1), name="image"),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
