"""Optimizer and learning-rate scheduler factories, chosen by name in the model config.

Names (not partials or classes) keep the checkpoint's hyperparameters primitive, so every
checkpoint loads with ``torch.load(path, weights_only=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.optim import lr_scheduler

from lightcnn.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("none", "step", "cosine", "onecycle", "plateau")


def build_optimizer(
    name: str,
    params: Iterable[Any],
    *,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    nesterov: bool = False,
) -> torch.optim.Optimizer:
    """Return the optimizer ``name`` over ``params`` (tensors or param-group dicts).

    Args:
        name: ``adam``, ``adamw`` or ``sgd``.
        params: parameters or param groups.
        lr: learning rate.
        weight_decay: L2 penalty (decoupled for AdamW).
        momentum: SGD momentum.
        nesterov: SGD Nesterov momentum.
    """
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
        )
    raise ConfigError(f"model.optimizer={name!r} is unknown; allowed: {', '.join(OPTIMIZERS)}")


def build_scheduler(
    name: str,
    optimizer: torch.optim.Optimizer,
    *,
    total_steps: int,
    max_epochs: int,
    **kwargs: Any,
) -> dict[str, Any] | None:
    """Return a Lightning ``lr_scheduler`` config dict, or None for ``none``.

    Args:
        name: ``none``, ``step`` (×gamma every step_size epochs, default a third of the run),
            ``cosine`` (per batch down to eta_min), ``onecycle`` (per batch, peak at the
            optimizer's lr after pct_start of the run), ``plateau`` (×factor when val/acc has
            not improved for patience epochs).
        optimizer: the optimizer to schedule.
        total_steps: optimizer steps in the whole run (``trainer.estimated_stepping_batches``).
        max_epochs: epochs in the whole run.
        **kwargs: overrides of the scheduler's own arguments (``model.scheduler_kwargs``).
    """
    if name == "none":
        return None
    if name == "step":
        args = {"step_size": max(1, max_epochs // 3), "gamma": 0.1} | kwargs
        return {"scheduler": lr_scheduler.StepLR(optimizer, **args), "interval": "epoch"}
    if name == "cosine":
        args = {"T_max": max(1, total_steps), "eta_min": 0.0} | kwargs
        return {"scheduler": lr_scheduler.CosineAnnealingLR(optimizer, **args), "interval": "step"}
    if name == "onecycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        args = {"max_lr": max_lr, "total_steps": max(1, total_steps), "pct_start": 0.25} | kwargs
        return {"scheduler": lr_scheduler.OneCycleLR(optimizer, **args), "interval": "step"}
    if name == "plateau":
        args = {"mode": "max", "factor": 0.1, "patience": 2} | kwargs
        return {
            "scheduler": lr_scheduler.ReduceLROnPlateau(optimizer, **args),
            "monitor": "val/acc",
            "interval": "epoch",
        }
    raise ConfigError(f"model.scheduler={name!r} is unknown; allowed: {', '.join(SCHEDULERS)}")
