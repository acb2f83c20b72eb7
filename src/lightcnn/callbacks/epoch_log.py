"""One plain log line per epoch, for runs without a terminal (log files, CI, SLURM)."""

from __future__ import annotations

import logging
import time

import lightning as L

log = logging.getLogger("lightcnn")


class EpochLog(L.Callback):
    """Log ``epoch i/n`` with the epoch's train and validation metrics and its duration."""

    def __init__(self) -> None:
        self._start = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = trainer.callback_metrics
        shown = " ".join(
            f"{name}={float(metrics[name]):.4f}"
            for name in ("train/loss_epoch", "train/acc", "val/loss", "val/acc")
            if name in metrics
        )
        total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else "?"
        seconds = time.perf_counter() - self._start
        log.info("epoch %d/%s %s (%.1f s)", trainer.current_epoch + 1, total, shown, seconds)
