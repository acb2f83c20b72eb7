"""The rules of the LightningModule's own options (``model.*`` beyond the architecture), stated
once and free of Lightning: config validation calls :func:`check_module_options` once per
process, in seconds, and :class:`~lightcnn.lit.ImageClassifier` trusts what it was given.

The optimizer and scheduler are checked by building them (:mod:`lightcnn.lit.optim` owns their
names and arguments), on one dummy parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from lightcnn.core.errors import BOOLEAN, ConfigError, Rule, check_rules, is_int, is_number
from lightcnn.lit.optim import build_optimizer, build_scheduler

#: ``model.finetune``: every layer (``full``), the new head only (``head``), or the head first
#: and the pretrained layers from ``unfreeze_epoch`` on (``gradual``).
FINETUNE_MODES = ("full", "head", "gradual")

#: the final metrics a run reports (``metrics.json``, the leaderboard): what a sweep can optimize
REPORTED_METRICS = ("val/acc", "val/loss", "test/acc", "test/loss")

RULES: dict[str, Rule] = {
    "lr": (lambda v: is_number(v) and v > 0, "a number > 0"),
    "weight_decay": (lambda v: is_number(v) and v >= 0, "a number >= 0"),
    "momentum": (lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "label_smoothing": (lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "num_classes": (
        lambda v: v is None or (is_int(v) and v >= 2),
        "an integer >= 2 (or null: the dataset's classes)",
    ),
    "scheduler_kwargs": (lambda v: v is None or isinstance(v, Mapping), "a mapping"),
    "nesterov": BOOLEAN,
    "channels_last": BOOLEAN,
    "compile": BOOLEAN,
}


def check_module_options(options: Mapping[str, Any], *, pretrained: bool) -> None:
    """Raise :class:`ConfigError` naming ``model.<key>`` for the first option that cannot work.

    Args:
        options: the module's arguments (the ``model`` config); missing keys are not checked.
        pretrained: whether the backbone loads pretrained weights.
    """
    check_rules("model", options, RULES)
    optimizer = build_optimizer(
        options.get("optimizer", "adam"),
        [torch.nn.Parameter(torch.zeros(1))],
        lr=options.get("lr", 1e-3),
        weight_decay=options.get("weight_decay", 0.0),
        momentum=options.get("momentum", 0.9),
        nesterov=options.get("nesterov", False),
    )
    build_scheduler(
        options.get("scheduler", "none"),
        optimizer,
        total_steps=100,
        max_epochs=10,
        **(options.get("scheduler_kwargs") or {}),
    )
    check_finetune(
        options.get("finetune", "full"),
        pretrained=pretrained,
        scheduler=options.get("scheduler", "none"),
        backbone_lr_scale=options.get("backbone_lr_scale", 0.1),
        unfreeze_epoch=options.get("unfreeze_epoch", 5),
    )


def check_finetune(
    mode: str, *, pretrained: bool, scheduler: str, backbone_lr_scale: float, unfreeze_epoch: int
) -> None:
    """Raise a ``ConfigError`` for a fine-tuning policy that cannot work, before anything trains.

    Args:
        mode: ``full``, ``head`` or ``gradual``.
        pretrained: whether the backbone holds pretrained weights.
        scheduler: the LR scheduler's name (``onecycle`` cannot take a param group mid-run).
        backbone_lr_scale: LR multiplier of the pretrained layers.
        unfreeze_epoch: the epoch at which ``gradual`` unfreezes the backbone.
    """
    if mode not in FINETUNE_MODES:
        raise ConfigError(
            f"model.finetune={mode!r} is unknown; allowed: {', '.join(FINETUNE_MODES)}"
        )
    if mode != "full" and not pretrained:
        raise ConfigError(
            f"model.finetune={mode} freezes pretrained layers, but this model has none: set "
            "model.pretrained=true (or model.weights_path), or model.finetune=full"
        )
    if not (is_number(backbone_lr_scale) and backbone_lr_scale > 0):
        raise ConfigError(
            f"model.backbone_lr_scale={backbone_lr_scale} must be > 0; "
            "use model.finetune=head to keep the pretrained layers fixed"
        )
    if mode == "gradual" and not (is_int(unfreeze_epoch) and unfreeze_epoch >= 0):
        raise ConfigError(f"model.unfreeze_epoch={unfreeze_epoch} must be >= 0")
    if mode == "gradual" and scheduler == "onecycle":
        raise ConfigError(
            "model.finetune=gradual adds a param group when it unfreezes, which "
            "model.scheduler=onecycle cannot take; use none, step, cosine or plateau"
        )
