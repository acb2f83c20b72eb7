"""ImageClassifier: the one LightningModule, wrapping any backbone from ``lightcnn.models``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from lightcnn.lit.finetune import FinetunePolicy, param_groups
from lightcnn.lit.horizon import fit_horizon
from lightcnn.lit.optim import build_optimizer, build_scheduler, can_fuse
from lightcnn.lit.options import check_finetune
from lightcnn.models import InputSpec, build_model, uses_pretrained_weights

log = logging.getLogger("lightcnn")

#: The input of a module built without one: 28×28 grey images, MNIST's statistics.
DEFAULT_INPUT = InputSpec(image_size=28, in_channels=1, mean=(0.1307,), std=(0.3081,))


class ImageClassifier(L.LightningModule):
    """Cross-entropy image classifier around a backbone built by name.

    Every argument is a primitive and is saved as a hyperparameter, so a checkpoint loads with
    ``torch.load(path, weights_only=True)``, ``ImageClassifier.load_from_checkpoint(path)``
    needs no other argument, and the checkpoint's ``input`` tells how to preprocess an image.

    The arguments are trusted: config validation checks them once per process
    (:func:`lightcnn.lit.options.check_module_options`). Built from Python with a bad one, the
    module fails where it is used (an unknown optimizer or scheduler name when the trainer
    configures the optimizers).

    Args:
        arch: backbone name (``lenet5``, ``lenet5_1998``, ...).
        num_classes: number of output classes.
        input: the resolved input the network is built for (an
            :class:`~lightcnn.models.InputSpec` as a dict: ``image_size``, ``in_channels``,
            ``fit``, ``mean``, ``std``); the data module delivers exactly this.
        optimizer: ``adam``, ``adamw`` or ``sgd``.
        lr: learning rate (the peak rate for ``onecycle``).
        weight_decay: weight decay.
        momentum: SGD momentum.
        nesterov: SGD Nesterov momentum.
        scheduler: ``none``, ``step``, ``cosine``, ``onecycle`` or ``plateau``.
        scheduler_kwargs: overrides of the scheduler's own arguments.
        label_smoothing: cross-entropy label smoothing.
        finetune: policy for pretrained weights (``full``, ``head``, ``gradual``); see
            :mod:`lightcnn.lit.finetune`.
        backbone_lr_scale: LR multiplier of the pretrained layers.
        unfreeze_epoch: the epoch at which ``gradual`` unfreezes the pretrained layers.
        channels_last: keep the network's weights and inputs in channels-last memory format
            (faster convolutions on recent GPUs with mixed precision).
        compile: compile the network with ``torch.compile`` (in place: checkpoints keep clean
            ``net.*`` keys).
        **arch_kwargs: the backbone's own options (pool, padding, activation, ...).
    """

    def __init__(
        self,
        arch: str = "lenet5",
        num_classes: int = 10,
        input: Mapping[str, Any] | None = None,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        nesterov: bool = False,
        scheduler: str = "none",
        scheduler_kwargs: dict[str, Any] | None = None,
        label_smoothing: float = 0.0,
        finetune: str = "full",
        backbone_lr_scale: float = 0.1,
        unfreeze_epoch: int = 5,
        channels_last: bool = False,
        compile: bool = False,
        **arch_kwargs: Any,
    ) -> None:
        super().__init__()
        spec = InputSpec.from_dict(input) if input is not None else DEFAULT_INPUT
        if not spec.resolved:
            raise ValueError(f"ImageClassifier needs a resolved input (every field set): {spec}")
        # the resolved spec, as primitives, in place of the argument given
        self.save_hyperparameters(ignore=["input"])
        self.save_hyperparameters({"input": spec.to_dict()})
        self.input_spec = spec
        self.net = build_model(
            arch,
            num_classes=num_classes,
            in_channels=spec.in_channels,
            image_size=spec.image_size,
            **arch_kwargs,
        )
        self.example_input_array = torch.zeros(
            1, spec.in_channels, spec.image_size, spec.image_size
        )
        metric = MulticlassAccuracy(num_classes=num_classes, average="micro", validate_args=False)
        self.train_acc, self.val_acc, self.test_acc = metric.clone(), metric.clone(), metric.clone()
        self.train_loss = MeanMetric()
        # per-sample means over the epoch, reduced across DDP ranks like the accuracies
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()

    def configure_model(self) -> None:
        """Apply the speed switches once the module is on its device."""
        if self.hparams.channels_last:
            self.net.to(memory_format=torch.channels_last)
        if self.hparams.compile:
            self.net.compile()  # in place: the state dict keeps its net.* keys

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.hparams.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        images, labels = batch
        logits = self(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=self.hparams.label_smoothing)
        # The names Lightning gives `self.log(on_step=True, on_epoch=True)` (train/loss_step,
        # train/loss_epoch), written only when they are due: a `self.log` per step with a
        # metric costs ~8% of a LeNet-5 training epoch on a CPU (py-spy, docs/benchmarks.md).
        # The epoch values come from torchmetrics over the whole epoch (reduced across DDP
        # ranks), logged once on the last batch; Lightning resets them after the epoch.
        self.train_loss.update(loss.detach())
        self.train_acc.update(logits.detach(), labels)
        every = self.trainer.log_every_n_steps
        if every and (self.trainer.global_step + 1) % every == 0:  # the steps the logger writes
            self.log("train/loss_step", loss.detach(), on_step=True, on_epoch=False, prog_bar=True)
        if self.trainer.is_last_batch:
            self.log("train/loss_epoch", self.train_loss, on_step=False, on_epoch=True)
            self.log("train/acc", self.train_acc, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def _eval_step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        """Shared by validation and test: the batch's loss and accuracy accumulate in the
        stage's metrics, logged once at the end of the epoch (:meth:`_log_eval_epoch`).

        Returns the logits, which Lightning hands to the callbacks' ``on_*_batch_end`` (the
        figures and the evaluation report collect them there) and then drops.
        """
        images, labels = batch
        logits = self(images)
        loss = F.cross_entropy(logits, labels)
        accuracy, mean_loss = self._eval_metrics(stage)
        accuracy.update(logits, labels)
        mean_loss.update(loss, weight=len(labels))
        return logits.detach()

    def _eval_metrics(self, stage: str) -> tuple[MulticlassAccuracy, MeanMetric]:
        return (self.val_acc, self.val_loss) if stage == "val" else (self.test_acc, self.test_loss)

    def _log_eval_epoch(self, stage: str) -> None:
        """Log ``{stage}/loss`` and ``{stage}/acc`` over the whole epoch (reduced across DDP
        ranks by torchmetrics; Lightning resets them after the epoch).

        Once per epoch, not per batch: a ``self.log`` and a metric's ``forward`` cost more
        Python than a LeNet-5 validation batch (docs/benchmarks.md)."""
        accuracy, mean_loss = self._eval_metrics(stage)
        self.log(f"{stage}/loss", mean_loss, prog_bar=True)
        self.log(f"{stage}/acc", accuracy, prog_bar=True)

    def validation_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        return self._eval_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._log_eval_epoch("val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._eval_step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_eval_epoch("test")

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        images = batch[0] if isinstance(batch, list | tuple) else batch
        return self(images).softmax(dim=1)

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        mode = hp.finetune if uses_pretrained_weights(hp) else None
        params = param_groups(self.net, mode, lr=hp.lr, backbone_lr_scale=hp.backbone_lr_scale)
        scaled_clipping = bool(self.trainer.gradient_clip_val) and self.trainer.scaler is not None
        optimizer = build_optimizer(
            hp.optimizer,
            params,
            lr=hp.lr,
            weight_decay=hp.weight_decay,
            momentum=hp.momentum,
            nesterov=hp.nesterov,
            fused=can_fuse(params, scaled_clipping=scaled_clipping),
        )
        scheduler = build_scheduler(
            hp.scheduler,
            optimizer,
            total_steps=self.trainer.estimated_stepping_batches,
            max_epochs=self.trainer.max_epochs or 1,
            **(hp.scheduler_kwargs or {}),
        )
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def on_train_start(self) -> None:
        """A continued run whose length changed re-plans its LR schedule (lit/horizon.py)."""
        total = int(self.trainer.estimated_stepping_batches)
        for config in self.trainer.lr_scheduler_configs:
            note = fit_horizon(config.scheduler, total)
            if note:
                log.info("model.scheduler=%s: %s", self.hparams.scheduler, note)

    def configure_callbacks(self) -> list[L.Callback]:
        """The fine-tuning callback when pretrained layers are frozen (``head``, ``gradual``).

        A run's config was checked before the module was built; a module built by hand in
        Python gets the same one-line error here for a policy that cannot work.
        """
        hp = self.hparams
        pretrained = uses_pretrained_weights(hp)
        check_finetune(
            hp.finetune,
            pretrained=pretrained,
            scheduler=hp.scheduler,
            backbone_lr_scale=hp.backbone_lr_scale,
            unfreeze_epoch=hp.unfreeze_epoch,
        )
        if not pretrained or hp.finetune == "full":
            return []
        return [FinetunePolicy(hp.finetune, hp.unfreeze_epoch, hp.backbone_lr_scale)]
