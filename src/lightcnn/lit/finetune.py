"""Fine-tuning policy for pretrained backbones: which parameters train, at which LR, and when.

``model.finetune`` picks one of:

- ``full``: every layer trains; the pretrained ones at ``lr × backbone_lr_scale`` (a param group).
- ``head``: the pretrained layers stay frozen and only the new head trains (a linear probe).
- ``gradual``: as ``head`` until epoch ``unfreeze_epoch``; then the pretrained layers join the
  optimizer as a new param group at the head's current LR × ``backbone_lr_scale``.

The head is the last module of the network's ``classifier`` (the layer that replaced the
pretrained one); everything else is the pretrained backbone. ``ImageClassifier`` builds its
optimizer from :func:`param_groups` and adds :class:`FinetunePolicy` through
``configure_callbacks``; the option rules are in :mod:`lightcnn.lit.options`.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import BaseFinetuning
from torch import nn
from torch.optim import Optimizer

from lightcnn.core.errors import ConfigError

log = logging.getLogger("lightcnn")


def split_head(net: nn.Module) -> tuple[list[nn.Module], nn.Module]:
    """The backbone's modules (every leaf but the head) and the head.

    Args:
        net: a model whose ``classifier`` Sequential ends in its head.
    """
    classifier = getattr(net, "classifier", None)
    if not isinstance(classifier, nn.Sequential) or len(classifier) == 0:
        raise ConfigError(
            f"{type(net).__name__} has no classifier Sequential ending in a head, "
            "so model.finetune cannot tell its pretrained layers from its head"
        )
    head = classifier[-1]
    backbone = [module for module in BaseFinetuning.flatten_modules(net) if module is not head]
    return backbone, head


def param_groups(
    net: nn.Module, mode: str | None, *, lr: float, backbone_lr_scale: float
) -> list[dict[str, Any]] | list[nn.Parameter]:
    """The optimizer's parameters under the policy.

    A model without pretrained weights trains every parameter at ``lr``. With pretrained
    weights: ``full`` gives a ``backbone`` group at ``lr × backbone_lr_scale`` and a ``head``
    group at ``lr``; ``head`` and ``gradual`` start with the head alone. Group names show up in
    the learning-rate monitor (``lr-SGD/backbone``, ``lr-SGD/head``).

    Args:
        net: the backbone network.
        mode: ``full``, ``head`` or ``gradual``; None for a network without pretrained weights
            (``models.uses_pretrained_weights``).
        lr: the base learning rate.
        backbone_lr_scale: LR multiplier of the pretrained layers.
    """
    if mode is None:
        return list(net.parameters())
    backbone, head = split_head(net)
    groups: list[dict[str, Any]] = [{"params": list(head.parameters()), "name": "head"}]
    if mode == "full":
        params = [p for module in backbone for p in module.parameters(recurse=False)]
        groups.insert(0, {"params": params, "lr": lr * backbone_lr_scale, "name": "backbone"})
    return groups


class FinetunePolicy(BaseFinetuning):
    """Freeze the pretrained backbone before training; for ``gradual``, unfreeze it later.

    Args:
        mode: ``head`` (frozen for the whole run) or ``gradual``.
        unfreeze_epoch: the epoch (0-based) at which ``gradual`` unfreezes the backbone.
        backbone_lr_scale: the unfrozen backbone's LR relative to the head's current LR.
    """

    def __init__(self, mode: str, unfreeze_epoch: int = 0, backbone_lr_scale: float = 0.1) -> None:
        super().__init__()
        self.mode = mode
        self.unfreeze_epoch = unfreeze_epoch
        self.backbone_lr_scale = backbone_lr_scale

    def freeze_before_training(self, pl_module: L.LightningModule) -> None:
        backbone, _ = split_head(pl_module.net)
        self.freeze(backbone, train_bn=False)

    def finetune_function(
        self, pl_module: L.LightningModule, epoch: int, optimizer: Optimizer
    ) -> None:
        if self.mode != "gradual" or epoch < self.unfreeze_epoch:
            return
        backbone, _ = split_head(pl_module.net)
        if epoch > self.unfreeze_epoch:
            # Resumed after the unfreeze: the restored optimizer already holds the backbone.
            self.make_trainable(backbone)
            return
        self.unfreeze_and_add_param_group(
            backbone, optimizer, initial_denom_lr=1.0 / self.backbone_lr_scale, train_bn=True
        )
        group = optimizer.param_groups[-1]
        group["name"] = "backbone"
        log.info("epoch %d: pretrained layers unfrozen at lr %.3g", epoch, group["lr"])
