"""Classification metrics of a pass, from torchmetrics: accuracy, loss, the confusion matrix,
per-class precision / recall / F1, their macro averages, the expected calibration error and
the reliability bins behind it, and the most frequent confusions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import (
    multiclass_calibration_error,
    multiclass_confusion_matrix,
    multiclass_f1_score,
    multiclass_precision,
    multiclass_recall,
)

from lightcnn.evaluation.predictions import Predictions

#: Confidence bins of the expected calibration error and the reliability diagram.
CALIBRATION_BINS = 15


@dataclass(frozen=True)
class ReliabilityBins:
    """Per confidence bin: its edges, sample count, mean confidence and accuracy.

    Binned as torchmetrics bins for its calibration error, so
    ``Σ count/total · |accuracy − confidence|`` is the ECE.
    """

    edges: list[float]
    counts: list[int]
    confidence: list[float]
    accuracy: list[float]


@dataclass(frozen=True)
class Confusion:
    """One off-diagonal cell of the confusion matrix."""

    true: str
    predicted: str
    count: int
    share: float  # of the true class's samples


@dataclass(frozen=True)
class ClassificationMetrics:
    """The metrics of one pass over a split.

    Build it with :meth:`from_predictions`; :meth:`to_dict` gives the JSON of ``metrics.json``.
    """

    classes: tuple[str, ...]
    count: int
    accuracy: float
    loss: float
    confusion_matrix: torch.Tensor  # (classes, classes): rows = true, columns = predicted
    precision: list[float]
    recall: list[float]
    f1: list[float]
    support: list[int]
    macro_precision: float
    macro_recall: float
    macro_f1: float
    ece: float
    reliability: ReliabilityBins

    @classmethod
    def from_predictions(
        cls, predictions: Predictions, classes: Sequence[str], bins: int = CALIBRATION_BINS
    ) -> ClassificationMetrics:
        """Compute every metric of a pass.

        Args:
            predictions: logits and labels of the pass.
            classes: the class names, in label order.
            bins: confidence bins of the calibration error.
        """
        logits, targets = predictions.logits.float(), predictions.targets
        probs = logits.softmax(dim=1)
        n = len(classes)
        if probs.shape[1] != n:
            raise ValueError(f"{probs.shape[1]} logits per sample for {n} classes")

        def per_class(metric: Any) -> list[float]:
            return metric(probs, targets, num_classes=n, average="none").tolist()

        def macro(metric: Any) -> float:
            return float(metric(probs, targets, num_classes=n, average="macro"))

        matrix = multiclass_confusion_matrix(probs, targets, num_classes=n)
        return cls(
            classes=tuple(classes),
            count=len(targets),
            accuracy=int(matrix.trace()) / max(1, len(targets)),
            loss=float(F.cross_entropy(logits, targets)),
            confusion_matrix=matrix,
            precision=per_class(multiclass_precision),
            recall=per_class(multiclass_recall),
            f1=per_class(multiclass_f1_score),
            support=matrix.sum(dim=1).tolist(),
            macro_precision=macro(multiclass_precision),
            macro_recall=macro(multiclass_recall),
            macro_f1=macro(multiclass_f1_score),
            ece=float(multiclass_calibration_error(probs, targets, num_classes=n, n_bins=bins)),
            reliability=reliability_bins(probs, targets, bins),
        )

    @property
    def correct(self) -> int:
        """Samples classified correctly (the confusion matrix's trace)."""
        return int(self.confusion_matrix.trace())

    def top_confusions(self, count: int = 10) -> list[Confusion]:
        """The most frequent (true, predicted) mistakes, most frequent first.

        Args:
            count: at most this many.
        """
        matrix = self.confusion_matrix.clone()
        matrix.fill_diagonal_(0)
        order = matrix.flatten().argsort(descending=True, stable=True)[:count]
        confusions = []
        for index in order.tolist():
            true, predicted = divmod(index, len(self.classes))
            cell = int(matrix[true, predicted])
            if cell == 0:
                break
            share = cell / max(1, self.support[true])
            confusions.append(Confusion(self.classes[true], self.classes[predicted], cell, share))
        return confusions

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: the summary numbers, per-class rows, the matrix, the reliability bins."""
        return {
            "count": self.count,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "loss": self.loss,
            "macro_precision": self.macro_precision,
            "macro_recall": self.macro_recall,
            "macro_f1": self.macro_f1,
            "ece": self.ece,
            "ece_bins": len(self.reliability.counts),
            "classes": list(self.classes),
            "per_class": {
                name: {
                    "precision": self.precision[i],
                    "recall": self.recall[i],
                    "f1": self.f1[i],
                    "support": self.support[i],
                }
                for i, name in enumerate(self.classes)
            },
            "confusion_matrix": self.confusion_matrix.tolist(),
            "top_confusions": [vars(c) for c in self.top_confusions()],
            "reliability": vars(self.reliability),
        }


def reliability_bins(probs: torch.Tensor, targets: torch.Tensor, bins: int) -> ReliabilityBins:
    """Bin the top-1 confidences into ``bins`` equal-width bins, as torchmetrics does.

    A confidence of exactly 1.0 falls into the last bin (torchmetrics gives it a bin of its own,
    which is why the two ECE sums can differ in the last decimals).

    Args:
        probs: class probabilities, shape (N, classes).
        targets: true labels, shape (N,).
        bins: number of bins over [0, 1].
    """
    confidences, predictions = probs.max(dim=1)
    correct = (predictions == targets).float()
    edges = torch.linspace(0, 1, bins + 1)
    index = (torch.bucketize(confidences, edges, right=True) - 1).clamp(0, bins - 1)
    counts = torch.zeros(bins).scatter_add_(0, index, torch.ones_like(confidences))
    confidence = torch.zeros(bins).scatter_add_(0, index, confidences) / counts.clamp_min(1)
    accuracy = torch.zeros(bins).scatter_add_(0, index, correct) / counts.clamp_min(1)
    return ReliabilityBins(
        edges=edges.tolist(),
        counts=[int(c) for c in counts.tolist()],
        confidence=confidence.tolist(),
        accuracy=accuracy.tolist(),
    )
