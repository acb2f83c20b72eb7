"""Stop training at the first NaN or infinite loss, naming the step and the likely cause."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from lightcnn.errors import NonFiniteLossError


class NonFiniteLossGuard(L.Callback):
    """Raise :class:`NonFiniteLossError` when the training loss stops being finite.

    Checkpoints of earlier epochs stay as they are: ``last.ckpt`` is the last good state.
    """

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None or torch.isfinite(loss).all():
            return
        hparams = pl_module.hparams
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None
        checkpoint = trainer.checkpoint_callback
        last = getattr(checkpoint, "last_model_path", "") if checkpoint else ""
        kept = f"the last good checkpoint is {last}" if last else "no checkpoint was written yet"
        raise NonFiniteLossError(
            f"train/loss became {float(loss)} at epoch {trainer.current_epoch}, step "
            f"{trainer.global_step} (batch {batch_idx}); {kept}. Likely cause: a learning rate "
            f"too high for this model (lr now {lr}, model.lr={hparams.get('lr')}, "
            f"model.optimizer={hparams.get('optimizer')}): lower model.lr or set "
            f"trainer.gradient_clip_val=1.0"
        )
