"""Step 4b, model outputs -> typed predictions: the classifier's label (optional top k with
probabilities), and ranked rows of any ``classes``/``scores`` output."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lambdalite.records import Record


class Ranked(Record):
    index: int  # type: ignore[assignment]  # shadows tuple.index, as a record's field may
    probability: float
    label: str | None = None


class Prediction(Record):
    index: int  # type: ignore[assignment]  # shadows tuple.index
    label: str | None = None
    top_k: tuple[Ranked, ...] | None = None


def effective_labels(labels: Sequence[str] | None) -> list[str] | None:
    """Labels that only repeat the index ("0", "1", ...) add nothing: treat them as absent.

    This keeps the AWS SAM template's exact answer, ``{"predicted_label": 3}``, for
    MNIST-style manifests whose labels are the digits themselves.
    """
    if not labels:
        return None
    if all(str(label) == str(i) for i, label in enumerate(labels)):
        return None
    return [str(label) for label in labels]


def probabilities(outputs: np.ndarray, activation: str) -> np.ndarray:
    """Softmax when the model emits logits ("none"); the model's own activation otherwise."""
    x = outputs.astype(np.float64)
    if activation != "none":
        return x
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


def predict_labels(
    outputs: np.ndarray,
    *,
    activation: str,
    labels: Sequence[str] | None,
    top_k: int | None,
) -> list[Prediction]:
    """One ``Prediction`` per row of ``outputs`` (N, classes), in order."""
    flat = outputs.reshape(outputs.shape[0], -1)
    best = flat.argmax(axis=1)
    probs = probabilities(flat, activation) if top_k else None
    result = []
    for row, index in enumerate(best.tolist()):
        ranked = None
        if probs is not None and top_k:
            order = np.argsort(-probs[row], kind="stable")[:top_k]
            ranked = tuple(
                Ranked(int(i), round(float(probs[row, i]), 6), _label(labels, int(i)))
                for i in order
            )
        result.append(Prediction(int(index), _label(labels, int(index)), ranked))
    return result


def rank_rows(
    flat: np.ndarray, labels: Sequence[str] | None, top_k: int
) -> list[tuple[Ranked, ...]]:
    """The ``top_k`` highest entries of each row of ``flat`` (N, C), highest first."""
    order = np.argsort(-flat, axis=1, kind="stable")[:, :top_k]
    return [
        tuple(Ranked(int(i), round(float(flat[row, i]), 6), _label(labels, int(i)))
              for i in order[row])
        for row in range(flat.shape[0])
    ]


def _label(labels: Sequence[str] | None, index: int) -> str | None:
    if labels is None or index >= len(labels):
        return None
    return labels[index]
