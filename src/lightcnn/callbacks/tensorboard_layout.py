"""TensorBoard's CUSTOM SCALARS tab, laid out to tell a run's story on one screen."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

#: category → chart title → tag regular expressions drawn together on that chart
LAYOUT: dict[str, dict[str, list[str]]] = {
    "learning curves": {
        "loss: train (epoch mean) and validation": [r"^train/loss_epoch$", r"^val/loss$"],
        "accuracy: train and validation": [r"^train/acc$", r"^val/acc$"],
        "learning rate": [r"^lr-"],
    },
}


class CustomScalarsLayout(L.Callback):
    """Write :data:`LAYOUT` once per run (when fitting starts) to every TensorBoard logger:
    train and validation loss on one chart, train and validation accuracy on another, and the
    learning rate.

    The layout is stored in the run's event file (``SummaryWriter.add_custom_scalars``), so
    ``tensorboard --logdir`` over any number of runs shows each chart with every run's lines.
    """

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        layout = {
            category: {title: ["Multiline", tags] for title, tags in charts.items()}
            for category, charts in LAYOUT.items()
        }
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_custom_scalars(layout)
