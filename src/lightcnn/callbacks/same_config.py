"""Under DDP, check that every rank trains the configuration rank 0 was given.

Ranks that Lightning starts by re-running the script compose their config again from a command
line; a rank that composed something else (another sweep value, another batch size) would train
a different model in the same process group without any error. The options of the model and the
data are compared once, before training.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import lightning as L

from lightcnn.core.errors import ConfigError


def options_digest(pl_module: L.LightningModule, datamodule: Any) -> str:
    """A digest of the model's and the data module's hyperparameters."""
    options = {
        "model": dict(pl_module.hparams),
        "data": dict(getattr(datamodule, "hparams", {}) or {}),
    }
    text = json.dumps(options, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class SameConfigOnEveryRank(L.Callback):
    """Stop every rank, before training, when a rank's options differ from rank 0's."""

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.world_size < 2:
            return
        mine = options_digest(pl_module, trainer.datamodule)
        same = mine == trainer.strategy.broadcast(mine, src=0)
        if not trainer.strategy.reduce_boolean_decision(same, all=True):
            raise ConfigError(
                "the DDP ranks were started with different configurations (model or data "
                "options differ from rank 0's); start every rank with the same overrides"
            )
