"""Stop training at the first NaN or infinite loss, naming the step and the likely cause."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from lightcnn.core.errors import NonFiniteLossError


class NonFiniteLossGuard(L.Callback):
    """Raise :class:`NonFiniteLossError` when the training loss stops being finite.

    Reading a GPU value from Python waits for the GPU, so on accelerators the check is
    deferred: each step folds ``isfinite(loss)`` into a flag that stays on the device, and the
    flag is read every ``check_every`` steps and at the end of each epoch. On the CPU reading
    is free and every step is checked. Under DDP every check is one decision of all ranks (any
    rank's non-finite loss stops them all at the same step), so no rank waits for another that
    has stopped. Checkpoints of earlier epochs stay as they are: ``last.ckpt`` is the last good
    state.

    Args:
        check_every: steps between reads of the flag; None: 1 on the CPU, the trainer's
            ``log_every_n_steps`` on accelerators (where the logger reads the loss anyway).
    """

    def __init__(self, check_every: int | None = None) -> None:
        self.check_every = check_every
        self._every = 1  # set at train start from check_every and the device
        self._finite: torch.Tensor | None = None  # device-side flag since the last read
        self._last_read_step = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._finite, self._last_read_step = None, trainer.global_step
        if self.check_every is not None:
            self._every = max(1, self.check_every)
        else:
            on_cpu = pl_module.device.type == "cpu"
            self._every = 1 if on_cpu else max(1, trainer.log_every_n_steps)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        if self._every == 1:  # the CPU: read at once (the loss of automatic optimization
            # is a scalar, and reading a CPU scalar is free: a tensor op would cost 5 µs)
            if not self._all_finite(trainer, math.isfinite(loss.item())):
                self._fail(trainer, pl_module, loss, since=trainer.global_step - 1)
            return
        finite = torch.isfinite(loss.detach()).all()
        self._finite = finite if self._finite is None else self._finite & finite
        if (batch_idx + 1) % self._every == 0 or trainer.is_last_batch:
            finite, self._finite = self._finite, None
            since, self._last_read_step = self._last_read_step, trainer.global_step
            if not self._all_finite(trainer, finite):
                self._fail(trainer, pl_module, loss, since=since)

    @staticmethod
    def _all_finite(trainer: L.Trainer, finite: torch.Tensor | bool) -> bool:
        """Whether the loss is finite on every rank (one all-reduce under DDP)."""
        if trainer.world_size > 1:
            return trainer.strategy.reduce_boolean_decision(bool(finite), all=True)
        return bool(finite)

    def _fail(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor, since: int
    ) -> None:
        """Raise, naming the step (or the steps after ``since``) and the likely cause."""
        hparams = pl_module.hparams
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None
        last = latest_checkpoint(trainer)
        kept = f"the last good checkpoint is {last}" if last else "no checkpoint was written yet"
        step = trainer.global_step
        where = f"step {step}" if step - since <= 1 else f"a step in {since + 1}–{step}"
        value = float(loss) if not torch.isfinite(loss).all() else "non-finite on another rank"
        raise NonFiniteLossError(
            f"train/loss became {value} at epoch {trainer.current_epoch}, {where}; "
            f"{kept}. Likely cause: a learning rate too high for this model (lr now {lr}, "
            f"model.lr={hparams.get('lr')}, model.optimizer={hparams.get('optimizer')}): lower "
            f"model.lr or set trainer.gradient_clip_val=1.0"
        )


def latest_checkpoint(trainer: L.Trainer) -> str:
    """The checkpoint of the last finished epoch: the file of a checkpoint callback without a
    monitor (``last.ckpt``, conf/callbacks/default.yaml) or of one with ``save_last``; "" when
    none was written."""
    for callback in trainer.checkpoint_callbacks:
        if not isinstance(callback, ModelCheckpoint):
            continue
        latest = callback.last_model_path or ("" if callback.monitor else callback.best_model_path)
        if latest:
            return latest
    return ""
