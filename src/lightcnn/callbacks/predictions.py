"""Keep the predictions of a test (or stand-alone validation) pass for the evaluation report."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from lightcnn.callbacks.evaluation_passes import EvaluationPassHooks
from lightcnn.evaluation.predictions import PredictionAccumulator, Predictions

STAGES = ("test", "val")


class RecordPredictions(EvaluationPassHooks):
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

    def start_pass(self, trainer: L.Trainer, stage: str) -> None:
        fn = "test" if stage == "test" else "validate"  # never the validation inside fit
        self._recording = stage == self.stage and trainer.state.fn == fn
        if self._recording:
            self.accumulator.reset()
            self.predictions = None

    def collect(self, logits: torch.Tensor, batch: Any) -> None:
        if self._recording:
            images, labels = batch
            self.accumulator.update(logits, labels, images)

    def finish_pass(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not self._recording or self.accumulator.empty:
            return
        self._recording = False
        predictions = self.accumulator.compute()
        self.accumulator.reset()
        if trainer.world_size > 1:
            logits = pl_module.all_gather(predictions.logits.to(pl_module.device))
            targets = pl_module.all_gather(predictions.targets.to(pl_module.device))
            predictions = Predictions(
                logits.flatten(0, 1).cpu(), targets.flatten(0, 1).cpu(), predictions.mistakes
            )
        self.predictions = predictions
