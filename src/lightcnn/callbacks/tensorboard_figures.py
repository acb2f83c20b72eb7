"""The family of callbacks that log figures to TensorBoard's IMAGES tab every N epochs.

Each figure is built with :mod:`lightcnn.analysis` (matplotlib's object API) and logged with
``SummaryWriter.add_figure`` to every TensorBoard logger of the run, at the global step, under
a tag named for its stage (``val/…``, ``test/…``, ``train/…``), so TensorBoard groups it with
that stage's curves. A callback without a TensorBoard logger to write to collects nothing.
"""

from __future__ import annotations

import logging

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.figure import Figure

from lightcnn.errors import ConfigError, is_int

log = logging.getLogger("lightcnn")


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
