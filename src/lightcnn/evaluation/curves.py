"""The learning curves of a run: loss and accuracy per epoch, train against validation, from the
``history`` of its ``metrics.json`` (:class:`~lightcnn.callbacks.TrainingHistory`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

#: (panel title, y label, [(history key, legend label)]) of each panel
PANELS = (
    ("Loss", "cross-entropy", [("train/loss_epoch", "train"), ("val/loss", "validation")]),
    ("Accuracy", "accuracy", [("train/acc", "train"), ("val/acc", "validation")]),
)


def learning_curves_figure(
    history: Sequence[Mapping[str, Any]], label_smoothing: float = 0.0, title: str = ""
) -> Figure:
    """Two panels, loss and accuracy, with the train and validation values of each epoch.

    Args:
        history: one mapping per epoch with ``epoch`` and the metrics of :data:`PANELS`.
        label_smoothing: the training loss's label smoothing, named in its legend (the
            validation loss has none, so the train curve sits higher).
        title: the figure title.
    """
    figure = Figure(figsize=(9.0, 3.6), layout="constrained")
    axes = figure.subplots(1, 2)
    for ax, (panel, ylabel, series) in zip(axes, PANELS, strict=True):
        for key, label in series:
            points = [(e["epoch"], e[key]) for e in history if key in e]
            if not points:
                continue
            if key == "train/loss_epoch" and label_smoothing:
                label = f"{label} (label smoothing {label_smoothing:g})"
            epochs, values = zip(*points, strict=True)
            ax.plot(epochs, values, marker="o", markersize=3, label=label)
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=8)
            ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        figure.suptitle(title, fontsize=10)
    return figure
