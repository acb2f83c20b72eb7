"""Figures of a classification pass: the confusion matrix, per-class accuracy, the most
confident mistakes, and the reliability diagram.

Built with matplotlib's object API (``Figure``, rendered by Agg), as :mod:`.figures` does, so
the same figure goes to a PNG file or to TensorBoard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from matplotlib.figure import Figure
from torchvision.utils import make_grid

from lightcnn.evaluation.classification import ClassificationMetrics, ReliabilityBins
from lightcnn.evaluation.predictions import Mistakes

#: above this many classes the figures drop per-cell counts and bar labels (CIFAR-100)
MANY_CLASSES = 30


def confusion_matrix_figure(metrics: ClassificationMetrics, title: str = "") -> Figure:
    """The confusion matrix: rows are the true classes, columns the predicted ones.

    Each cell shows its count; its colour is the share of the true class's samples (each row
    sums to 1), so the mistakes of small classes stay visible next to a bright diagonal.

    Args:
        metrics: the pass's metrics (matrix and class names).
        title: the figure title (default: accuracy and sample count).
    """
    matrix = metrics.confusion_matrix.float()
    shares = matrix / matrix.sum(dim=1, keepdim=True).clamp_min(1)
    classes = metrics.classes
    n = len(classes)
    many = n > MANY_CLASSES  # too many cells for counts (CIFAR-100): colour only, small ticks
    side = max(4.5, (0.2 if many else 0.55) * n + 2.0)
    figure = Figure(figsize=(side + 0.8, side), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(shares.numpy(), cmap="Blues", vmin=0.0, vmax=1.0)
    colorbar = figure.colorbar(image, ax=ax, shrink=0.8)
    colorbar.set_label("share of the true class")
    size = 9 if n <= 10 else 7
    for true in range(0 if many else n):
        for predicted in range(n):
            count = int(matrix[true, predicted])
            if count:
                colour = "white" if shares[true, predicted] > 0.5 else "black"
                ax.text(
                    predicted,
                    true,
                    str(count),
                    ha="center",
                    va="center",
                    fontsize=size,
                    color=colour,
                )
    ax.set_xticks(
        range(n),
        classes,
        rotation=45 if max(map(len, classes)) > 2 else 0,
        ha="right" if max(map(len, classes)) > 2 else "center",
    )
    ax.set_yticks(range(n), classes)
    if many:
        ax.tick_params(labelsize=5)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or f"Confusion matrix: {_summary(metrics)}", fontsize=10)
    return figure


def per_class_accuracy_figure(metrics: ClassificationMetrics, title: str = "") -> Figure:
    """Bars of each class's accuracy (its recall: the share of its samples classified right),
    with the overall accuracy as a dashed line and the weakest class highlighted.

    Args:
        metrics: the pass's metrics.
        title: the figure title (default: accuracy and sample count).
    """
    classes, recall = metrics.classes, metrics.recall
    many = len(classes) > MANY_CLASSES
    width = (0.16 if many else 0.6) * len(classes) + 1.5
    figure = Figure(figsize=(max(5.0, width), 3.8), layout="constrained")
    ax = figure.subplots()
    weakest = min(range(len(recall)), key=recall.__getitem__)
    colours = ["tab:orange" if i == weakest else "tab:blue" for i in range(len(recall))]
    bars = ax.bar(range(len(classes)), recall, color=colours)
    if not many:
        ax.bar_label(bars, [f"{100 * r:.1f}" for r in recall], fontsize=7, padding=2)
    ax.axhline(metrics.accuracy, color="black", linestyle="--", linewidth=1)
    rotation = 90 if many else 45 if len(classes[0]) > 2 else 0
    ax.set_xticks(range(len(classes)), classes, rotation=rotation, fontsize=5 if many else None)
    # high accuracies differ in the last percent: start the axis below the weakest class
    worst = recall[weakest]
    bottom = min(0.95, math.floor((2 * worst - 1) * 20) / 20) if worst > 0.5 else 0.0
    ax.set_ylim(bottom, 1 + 0.08 * (1 - bottom))
    ax.set_ylabel("accuracy (recall)" + (f", axis from {bottom:.0%}" if bottom else ""))
    ax.set_title(
        title
        or f"Per-class accuracy (%): overall {100 * metrics.accuracy:.2f}% (dashed), weakest "
        f"class {classes[weakest]} {100 * worst:.1f}%",
        fontsize=10,
    )
    return figure


def misclassified_figure(
    mistakes: Mistakes,
    classes: Sequence[str],
    mean: Sequence[float],
    std: Sequence[float],
    title: str = "",
) -> Figure:
    """A grid of misclassified examples, each labelled ``true → predicted (confidence)``.

    The model's inputs are de-normalised with its input's mean and std; grey data (possibly
    repeated to 3 channels) shows in grey. The grid is one image (``torchvision.utils.make_grid``)
    with the labels in a white band above each tile: one axes draws several times faster than
    one per example.

    Args:
        mistakes: the examples, most confident first.
        classes: the class names.
        mean: the input's per-channel normalisation mean.
        std: the input's per-channel normalisation std.
        title: the figure title.
    """
    count = len(mistakes)
    title = title or "Most confident mistakes: true → predicted (confidence)"
    if count == 0:
        figure = Figure(figsize=(4.0, 1.5))
        figure.text(0.5, 0.5, f"{title}\n\nno mistakes", ha="center", va="center")
        return figure
    columns = min(5, math.ceil(math.sqrt(count)))
    images = torch.stack([denormalise(image, mean, std) for image in mistakes.images])
    height, width = images.shape[-2:]
    band, pad = max(2, round(0.4 * height)), max(1, round(0.06 * width))
    tiles = torch.nn.functional.pad(images, (0, 0, band, 0), value=1.0)  # white label band
    grid = make_grid(tiles, nrow=columns, padding=pad, pad_value=1.0)
    inches = 1.5 * columns / grid.shape[2]  # 1.5 inch per tile
    title_space = 0.4
    figure = Figure(figsize=(grid.shape[2] * inches, grid.shape[1] * inches + title_space))
    ax = figure.add_axes((0, 0, 1, 1 - title_space / figure.get_figheight()))
    ax.set_axis_off()
    figure.suptitle(title, fontsize=10, y=1 - 0.08 / figure.get_figheight(), va="top")
    ax.imshow(grid.permute(1, 2, 0).numpy())
    for i in range(count):
        row, column = divmod(i, columns)
        x = pad + column * (width + pad) + width / 2
        y = pad + row * (height + band + pad) + band
        true, predicted = int(mistakes.targets[i]), int(mistakes.predictions[i])
        ax.text(
            x,
            y,
            f"{classes[true]} → {classes[predicted]}\n({float(mistakes.confidences[i]):.2f})",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    return figure


def calibration_figure(reliability: ReliabilityBins, ece: float, title: str = "") -> Figure:
    """The reliability diagram: per confidence bin, the accuracy against the mean confidence
    (a calibrated model sits on the diagonal), and below it how many samples each bin holds.

    Args:
        reliability: the confidence bins.
        ece: the expected calibration error.
        title: the figure title (default: the ECE).
    """
    edges = reliability.edges
    width = edges[1] - edges[0]
    lefts = edges[:-1]
    filled = [i for i, c in enumerate(reliability.counts) if c]
    figure = Figure(figsize=(5.0, 5.6), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    accuracy = [reliability.accuracy[i] for i in filled]
    confidence = [reliability.confidence[i] for i in filled]
    top.bar(
        [lefts[i] for i in filled],
        accuracy,
        width=width,
        align="edge",
        color="tab:blue",
        alpha=0.8,
        edgecolor="white",
        label="accuracy in the bin",
    )
    # the gap between each bin's accuracy and its mean confidence, hatched
    top.bar(
        [lefts[i] for i in filled],
        [abs(c - a) for a, c in zip(accuracy, confidence, strict=True)],
        bottom=[min(a, c) for a, c in zip(accuracy, confidence, strict=True)],
        width=width,
        align="edge",
        fill=False,
        hatch="///",
        edgecolor="tab:red",
        linewidth=0,
        label="gap to its mean confidence",
    )
    top.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="calibrated")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.legend(loc="upper left", fontsize=8)
    top.set_title(title or f"Reliability diagram: ECE {ece:.4f} ({len(lefts)} bins)", fontsize=10)
    bottom.bar(lefts, reliability.counts, width=width, align="edge", color="tab:gray")
    bottom.set_yscale("log")
    bottom.set_ylabel("samples")
    bottom.set_xlabel("confidence (top-1 probability)")
    return figure


def denormalise(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """A normalised (C, H, W) model input back to [0, 1] (``x · std + mean``, clamped).

    Args:
        image: the normalised image.
        mean: per-channel mean.
        std: per-channel std.
    """
    mean_t = torch.tensor(mean, dtype=image.dtype).view(-1, 1, 1)
    std_t = torch.tensor(std, dtype=image.dtype).view(-1, 1, 1)
    return (image * std_t + mean_t).clamp(0, 1)


def _summary(metrics: ClassificationMetrics) -> str:
    return f"accuracy {100 * metrics.accuracy:.2f}% of {metrics.count:,} images"
