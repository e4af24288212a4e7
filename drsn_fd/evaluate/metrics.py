"""Classification metrics (scikit-learn) and the confusion-matrix figure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy, macro-F1, balanced accuracy and the confusion matrix (rows: true class)."""
    labels = list(range(len(classes)))
    return {
        "acc": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "balanced_acc": float(balanced_accuracy_score(y_true, y_pred)),
        "n": int(len(y_true)),
        "classes": list(classes),
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def confusion_figure(confusion: Sequence[Sequence[int]], classes: Sequence[str], title: str):
    """A matplotlib figure of a confusion matrix, normalised per true class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(classes), 0.8 + 0.5 * len(classes)))
    im = draw_confusion(ax, confusion, classes, title)
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of true class")
    fig.tight_layout()
    return fig


def draw_confusion(ax, confusion: Sequence[Sequence[int]], classes: Sequence[str], title: str):
    """Draw a confusion matrix on `ax`: colour = share of the true class, text = counts."""
    cm = np.asarray(confusion, dtype=float)
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    im = ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.5 else "black")
    return im
