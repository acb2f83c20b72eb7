"""The hooks of a validation or test pass, routed to three methods for the callbacks that
collect a pass's logits (the figures, the report's predictions)."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch


class EvaluationPassHooks(L.Callback):
    """Base of the callbacks that collect the logits of validation and test passes.

    The module's ``validation_step`` / ``test_step`` return the logits; each pass's start,
    every batch's logits and the pass's end go to :meth:`start_pass`, :meth:`collect` and
    :meth:`finish_pass`, with the stage (``val`` or ``test``).
    """

    def start_pass(self, trainer: L.Trainer, stage: str) -> None:
        """A pass begins: decide whether to collect it."""

    def collect(self, logits: torch.Tensor, batch: Any) -> None:
        """One batch of the pass: its logits and its ``(images, labels)``."""

    def finish_pass(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """The pass ended."""

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start_pass(trainer, "val")

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if isinstance(outputs, torch.Tensor):
            self.collect(outputs, batch)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.finish_pass(trainer, pl_module, "val")

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start_pass(trainer, "test")

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if isinstance(outputs, torch.Tensor):
            self.collect(outputs, batch)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.finish_pass(trainer, pl_module, "test")
