"""Confusion matrix, per-class accuracy and the most confident mistakes in TensorBoard, after
validation every N epochs and after test."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from lightcnn.analysis.classification import ClassificationMetrics
from lightcnn.analysis.classification_figures import (
    confusion_matrix_figure,
    misclassified_figure,
    per_class_accuracy_figure,
)
from lightcnn.analysis.predictions import PredictionAccumulator
from lightcnn.callbacks.evaluation_passes import EvaluationPassHooks
from lightcnn.callbacks.tensorboard_figures import TensorBoardFigures


def class_names(trainer: L.Trainer, num_classes: int) -> tuple[str, ...]:
    """The data module's class names, or the labels as text."""
    names = getattr(trainer.datamodule, "classes", None)
    return tuple(names) if names else tuple(str(i) for i in range(num_classes))


class ClassificationFigures(EvaluationPassHooks, TensorBoardFigures):
    """Log ``<stage>/confusion_matrix``, ``<stage>/per_class_accuracy`` and
    ``<stage>/misclassified`` for the validation pass after every ``every_n_epochs`` training
    epochs and the last (stage ``val``), and for every test pass (stage ``test``).

    The logits come from the module's ``validation_step`` / ``test_step`` (they return them);
    on epochs that are not due nothing is collected. Under DDP the figures show rank 0's share
    of the split.

    Args:
        every_n_epochs: log the validation figures after epochs n, 2n, 3n, ... and the last.
        max_mistakes: at most this many misclassified examples in the grid.
    """

    config_key = "classification_figures"

    def __init__(self, every_n_epochs: int = 1, max_mistakes: int = 25) -> None:
        super().__init__(every_n_epochs)
        self.predictions = PredictionAccumulator(max_mistakes)
        self.collecting = False

    def start_pass(self, trainer: L.Trainer, stage: str) -> None:
        if stage == "val":
            fitting = trainer.state.fn == "fit" and not trainer.sanity_checking
            self.collecting = fitting and self.due(trainer)
        else:
            self.collecting = bool(self.writers)
        if self.collecting:
            self.predictions.reset()

    def collect(self, logits: torch.Tensor, batch: Any) -> None:
        if self.collecting:
            images, labels = batch
            self.predictions.update(logits, labels, images)

    def finish_pass(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not self.collecting:
            return
        self.collecting = False
        if self.predictions.empty:
            return
        predictions = self.predictions.compute()
        self.predictions.reset()  # frees the device memory until the next due epoch
        classes = class_names(trainer, predictions.logits.shape[1])
        metrics = ClassificationMetrics.from_predictions(predictions, classes)
        spec = pl_module.input_spec
        epoch = f"epoch {trainer.current_epoch + 1}" if stage == "val" else "test"
        self.log_figure(
            trainer,
            f"{stage}/confusion_matrix",
            confusion_matrix_figure(
                metrics,
                f"Confusion matrix, {epoch}: {100 * metrics.accuracy:.2f}% of "
                f"{metrics.count:,} images",
            ),
        )
        self.log_figure(trainer, f"{stage}/per_class_accuracy", per_class_accuracy_figure(metrics))
        self.log_figure(
            trainer,
            f"{stage}/misclassified",
            misclassified_figure(predictions.mistakes, classes, spec.mean, spec.std),
        )
