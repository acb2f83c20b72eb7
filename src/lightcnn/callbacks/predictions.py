"""Keep the predictions of a test (or stand-alone validation) pass for the evaluation report."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from lightcnn.analysis.predictions import PredictionAccumulator, Predictions

STAGES = ("test", "val")


class RecordPredictions(L.Callback):
    """Collect every logit and label of each ``stage`` pass, and its most confident mistakes.

    ``stage="test"`` records ``trainer.test``; ``stage="val"`` records a stand-alone
    ``trainer.validate`` (never the validation inside ``fit``). After the pass,
    :attr:`predictions` holds the result; the logits come from the module's
    ``test_step`` / ``validation_step``, which return them. Under DDP the logits and labels of
    every rank are gathered (a sampler's padding repeats a few samples); the mistakes are
    rank 0's.

    Args:
        stage: ``test`` or ``val``.
        keep_mistakes: how many misclassified examples to keep, with their images.
    """

    def __init__(self, stage: str = "test", keep_mistakes: int = 25) -> None:
        if stage not in STAGES:
            raise ValueError(f"stage={stage!r}; allowed: {', '.join(STAGES)}")
        self.stage = stage
        self.accumulator = PredictionAccumulator(keep_mistakes)
        self.predictions: Predictions | None = None
        self._recording = False

    def _start(self, trainer: L.Trainer, fn: str) -> None:
        self._recording = trainer.state.fn == fn
        if self._recording:
            self.accumulator.reset()
            self.predictions = None

    def _collect(self, outputs: Any, batch: Any) -> None:
        if self._recording and isinstance(outputs, torch.Tensor):
            images, labels = batch
            self.accumulator.update(outputs, labels, images)

    def _finish(self, pl_module: L.LightningModule) -> None:
        if not self._recording or self.accumulator.empty:
            return
        predictions = self.accumulator.compute()
        self.accumulator.reset()
        if pl_module.trainer.world_size > 1:
            logits = pl_module.all_gather(predictions.logits.to(pl_module.device))
            targets = pl_module.all_gather(predictions.targets.to(pl_module.device))
            predictions = Predictions(
                logits.flatten(0, 1).cpu(), targets.flatten(0, 1).cpu(), predictions.mistakes
            )
        self.predictions = predictions

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.stage == "test":
            self._start(trainer, "test")

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._collect(outputs, batch)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._finish(pl_module)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.stage == "val":
            self._start(trainer, "validate")

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._collect(outputs, batch)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._finish(pl_module)
