"""The family of callbacks that log figures to TensorBoard's IMAGES tab every N epochs.

Each figure (classification figures, first-layer filters, feature maps) is built with
:mod:`lightcnn.evaluation` or :mod:`lightcnn.inspection` (matplotlib's object API) and logged with
``SummaryWriter.add_figure`` to every TensorBoard logger of the run, at the global step, under
a tag named for its stage (``val/…``, ``test/…``, ``train/…``), so TensorBoard groups it with
that stage's curves. A callback without a TensorBoard logger to write to collects nothing.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.figure import Figure
from PIL import Image

from lightcnn.callbacks.evaluation_passes import EvaluationPassHooks
from lightcnn.core.errors import ConfigError, is_int
from lightcnn.evaluation.classification import ClassificationMetrics
from lightcnn.evaluation.figures import (
    confusion_matrix_figure,
    misclassified_figure,
    per_class_accuracy_figure,
)
from lightcnn.evaluation.predictions import PredictionAccumulator
from lightcnn.inspection.figures import feature_map_figure, filters_figure, first_conv

log = logging.getLogger("lightcnn")
#: the report's figures that TensorBoard shows under test/ (ClassificationFigures)
REPORT_IMAGES = ("confusion_matrix.png", "per_class_accuracy.png", "misclassified.png")


class TensorBoardFigures(L.Callback):
    """Base of the figure callbacks: the every-N-epochs rule and the logging.

    Args:
        every_n_epochs: log after epochs n, 2n, 3n, ... and after the last (an integer >= 1).
    """

    #: the callback's key in ``conf/callbacks/``, for messages
    config_key = "figures"
    #: say so when the run has no TensorBoard logger (for callbacks a user turns on by hand)
    warn_without_tensorboard = False

    def __init__(self, every_n_epochs: int = 1) -> None:
        if not is_int(every_n_epochs) or every_n_epochs < 1:
            raise ConfigError(
                f"callbacks.{self.config_key}.every_n_epochs={every_n_epochs!r} is not "
                "allowed; allowed: an integer >= 1 (remove the callback with "
                f"callbacks.{self.config_key}=null)"
            )
        self.every_n_epochs = every_n_epochs
        self.writers: list[TensorBoardLogger] = []

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # only rank 0 writes: the other ranks collect and draw nothing
        tensorboards = [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
        self.writers = tensorboards if trainer.is_global_zero else []
        if not tensorboards and self.warn_without_tensorboard and trainer.is_global_zero:
            log.warning("%s: no TensorBoard logger, nothing is logged", type(self).__name__)

    def due(self, trainer: L.Trainer) -> bool:
        """Whether to log after the current epoch: every ``every_n_epochs``-th, and the last."""
        epoch = trainer.current_epoch + 1
        last = epoch == trainer.max_epochs
        return bool(self.writers) and (epoch % self.every_n_epochs == 0 or last)

    def log_figure(self, trainer: L.Trainer, tag: str, figure: Figure) -> None:
        """Log ``figure`` under ``tag`` at the current global step to every TensorBoard."""
        for writer in self.writers:
            writer.experiment.add_figure(tag, figure, trainer.global_step, close=False)


def class_names(trainer: L.Trainer, num_classes: int) -> tuple[str, ...]:
    """The data module's class names, or the labels as text."""
    names = getattr(trainer.datamodule, "classes", None)
    return tuple(names) if names else tuple(str(i) for i in range(num_classes))


class ClassificationFigures(EvaluationPassHooks, TensorBoardFigures):
    """Log ``val/confusion_matrix``, ``val/per_class_accuracy`` and ``val/misclassified`` for
    the validation pass after every ``every_n_epochs`` training epochs and the last, and the
    same under ``test/`` for the run's test.

    The validation logits come from the module's ``validation_step`` (it returns them); on
    epochs that are not due nothing is collected. Under DDP the validation figures show rank
    0's share of the split. The test's figures are the run's report's (``report/``, drawn once
    from every rank's predictions): :meth:`log_report_images` logs them. A run that ends with
    that test (``test_report``, on data with a test split) skips the validation figures of its
    last epoch: the test's are the end's figures, and drawing both cost about 0.6 s a run.

    Args:
        every_n_epochs: log the validation figures after epochs n, 2n, 3n, ... and the last
            (unless ``test_report``).
        max_mistakes: at most this many misclassified examples in the grid.
        test_report: whether the run ends with a test report (the config's ``test``).
    """

    config_key = "classification_figures"

    def __init__(
        self, every_n_epochs: int = 1, max_mistakes: int = 25, test_report: bool = False
    ) -> None:
        super().__init__(every_n_epochs)
        self.predictions = PredictionAccumulator(max_mistakes)
        self.collecting = False
        self.test_report = test_report

    def due(self, trainer: L.Trainer) -> bool:
        epoch = trainer.current_epoch + 1
        tested = self.test_report and getattr(trainer.datamodule, "has_test", False)
        if tested and epoch == trainer.max_epochs and epoch % self.every_n_epochs:
            return False  # the test report's figures follow
        return super().due(trainer)

    def start_pass(self, trainer: L.Trainer, stage: str) -> None:
        fitting = trainer.state.fn == "fit" and not trainer.sanity_checking
        self.collecting = stage == "val" and fitting and self.due(trainer)
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
        epoch = f"epoch {trainer.current_epoch + 1}"
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

    def log_report_images(self, trainer: L.Trainer, images: Mapping[str, bytes]) -> None:
        """Log the test report's confusion matrix, per-class accuracy and misclassified images
        (PNG bytes by file name, :func:`lightcnn.evaluation.report.write_report`) under
        ``test/``, at the current global step: the figures drawn once, for both."""
        for name in REPORT_IMAGES:
            with Image.open(io.BytesIO(images[name])) as image:
                pixels = np.asarray(image.convert("RGB"))
            tag = f"test/{name.removesuffix('.png')}"
            for writer in self.writers:
                writer.experiment.add_image(tag, pixels, trainer.global_step, dataformats="HWC")


class FirstLayerFilters(TensorBoardFigures):
    """Log the first convolution's filters as ``train/first_conv_filters``: once when training
    starts (the initial or pretrained weights), after every ``every_n_epochs`` epochs and after
    the last.

    Args:
        every_n_epochs: log after epochs n, 2n, 3n, ... and the last.
    """

    config_key = "first_layer_filters"

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.writers:
            self._log(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.due(trainer):
            self._log(trainer, pl_module)

    def _log(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        conv = first_conv(pl_module)
        if conv is not None:
            self.log_figure(trainer, "train/first_conv_filters", filters_figure(conv.weight))


class FeatureMaps(TensorBoardFigures):
    """Every ``every_n_epochs`` training epochs, log the maps after each conv / pool layer.

    The image is the first one of the first validation batch (the first training batch when
    there is no validation), kept for the whole run so the figures compare across epochs. The
    figure goes to every TensorBoard logger under ``tag``, at the current global step.

    Args:
        every_n_epochs: log after epochs n, 2n, 3n, ... and the last.
        max_maps: at most this many maps are shown per layer.
        tag: TensorBoard image tag.
    """

    config_key = "feature_maps"
    warn_without_tensorboard = True

    def __init__(
        self, every_n_epochs: int = 1, max_maps: int = 16, tag: str = "val/feature_maps"
    ) -> None:
        super().__init__(every_n_epochs)
        self.max_maps = max_maps
        self.tag = tag
        self.image: torch.Tensor | None = None

    def _keep(self, batch: object) -> None:
        if self.image is None:
            images = batch[0] if isinstance(batch, list | tuple) else batch
            self.image = images[0].detach().clone()

    def on_validation_batch_start(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        batch: object,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._keep(batch)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int
    ) -> None:
        self._keep(batch)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.due(trainer) and self.image is not None:
            figure = feature_map_figure(pl_module, self.image, self.max_maps)
            self.log_figure(trainer, self.tag, figure)
