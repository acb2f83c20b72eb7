"""Optimizer and learning-rate scheduler factories, chosen by name in the model config.

Names (not partials or classes) keep the checkpoint's hyperparameters primitive, so every
checkpoint loads with ``torch.load(path, weights_only=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.optim import lr_scheduler

from lightcnn.core.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("none", "step", "cosine", "onecycle", "plateau")
# devices with fused optimizer kernels in torch (torch.utils._foreach_utils lists them privately)
FUSED_DEVICES = ("cpu", "cuda", "mps", "xpu", "hpu")


def build_optimizer(
    name: str,
    params: Iterable[Any],
    *,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    nesterov: bool = False,
    fused: bool = False,
) -> torch.optim.Optimizer:
    """Return the optimizer ``name`` over ``params`` (tensors or param-group dicts).

    Args:
        name: ``adam``, ``adamw`` or ``sgd``.
        params: parameters or param groups.
        lr: learning rate.
        weight_decay: L2 penalty (decoupled for AdamW).
        momentum: SGD momentum.
        nesterov: SGD Nesterov momentum.
        fused: use torch's fused implementation (one kernel for all parameters; the same
            update rule). See :func:`can_fuse`.
    """
    # fused=None, not False, leaves torch its own choice (foreach on GPUs)
    implementation = {"fused": True} if fused else {}
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **implementation)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **implementation)
    if name == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
            **implementation,
        )
    raise ConfigError(
        f"model.optimizer={name!r} is not allowed: it must be one of {', '.join(OPTIMIZERS)}"
    )


def can_fuse(params: Iterable[Any], *, scaled_clipping: bool = False) -> bool:
    """Whether the fused optimizer implementation applies to ``params``.

    It needs floating-point parameters on a device with fused kernels (CPU, CUDA, ...). It is
    skipped when gradients are clipped under a GradScaler (``16-mixed``): a fused optimizer
    unscales internally, so Lightning cannot clip first. On a CPU the fused update saves about
    a tenth of a LeNet-5 step (docs/benchmarks.md).

    Args:
        params: parameters or param-group dicts.
        scaled_clipping: gradient clipping under a GradScaler is requested.
    """
    if scaled_clipping:
        return False
    tensors = [p for item in params for p in (item["params"] if isinstance(item, dict) else [item])]
    return bool(tensors) and all(
        p.is_floating_point() and p.device.type in FUSED_DEVICES for p in tensors
    )


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
    if name not in SCHEDULERS:
        raise ConfigError(
            f"model.scheduler={name!r} is not allowed: it must be one of {', '.join(SCHEDULERS)}"
        )
    if name == "none":
        return None
    steps = max(1, total_steps)
    # OneCycleLR divides by zero when its warm-up ends exactly at step 0 (pct_start × steps
    # = 1, e.g. 4 steps at 0.25): a run that short warms up over one and a half steps
    pct_start = kwargs.pop("pct_start", 0.25)
    if pct_start * steps <= 1:
        pct_start = min(1.5, steps - 0.5) / steps
    kind, defaults, extra = {
        "step": (lr_scheduler.StepLR, {"step_size": max(1, max_epochs // 3), "gamma": 0.1}, {}),
        "cosine": (lr_scheduler.CosineAnnealingLR, {"T_max": steps, "eta_min": 0.0}, {}),
        "onecycle": (
            lr_scheduler.OneCycleLR,
            {
                "max_lr": [group["lr"] for group in optimizer.param_groups],
                "total_steps": steps,
                "pct_start": pct_start,
            },
            {},
        ),
        "plateau": (
            lr_scheduler.ReduceLROnPlateau,
            {"mode": "max", "factor": 0.1, "patience": 2},
            {"monitor": "val/acc"},
        ),
    }[name]
    try:
        scheduler = kind(optimizer, **(defaults | kwargs))
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"model.scheduler_kwargs={dict(kwargs)} do not fit model.scheduler={name} "
            f"({kind.__name__}): {error}"
        ) from None
    interval = "epoch" if name in ("step", "plateau") else "step"
    return {"scheduler": scheduler, "interval": interval, **extra}
