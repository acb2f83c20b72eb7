"""Log the feature maps of one fixed image to TensorBoard every N epochs."""

from __future__ import annotations

import lightning as L
import torch

from lightcnn.analysis.figures import feature_map_figure
from lightcnn.callbacks.tensorboard_figures import TensorBoardFigures


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
