"""The filters of the first convolution in TensorBoard: before training and every N epochs."""

from __future__ import annotations

import lightning as L

from lightcnn.analysis.figures import filters_figure, first_conv
from lightcnn.callbacks.tensorboard_figures import TensorBoardFigures


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
