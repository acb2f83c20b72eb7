"""Report each validation to an Optuna trial, and stop the run when the trial's pruner says so.

Optuna's pruners decide (``trial.report`` then ``trial.should_prune``); this callback only feeds
them and stops through Lightning's public ``trainer.should_stop``, so a pruned run ends like a
finished one: its epoch's checkpoint and ``last.ckpt`` written, its loggers closed normally, and
its record ``pruned`` (``launch/fit.py``). Optuna's own Lightning callback
(``optuna_integration.PyTorchLightningPruningCallback``) raises ``TrialPruned`` out of
``trainer.fit`` instead, which Lightning handles as a crash (loggers finalized as failed), and
under DDP it needs a manual ``check_pruned()``; here rank 0 decides and broadcasts. No Optuna
import: the trial comes from ``lightcnn.sweeps.study``.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L


class OptunaPruning(L.Callback):
    """After every validation (not the sanity check): report ``monitor`` at the epoch to the
    trial and, when the pruner prunes it, stop after this epoch.

    Args:
        trial: the job's ``optuna.trial.Trial`` (None on the other DDP ranks: rank 0 decides).
        monitor: the reported metric (the sweep's ``optimized_metric``, ``val/acc``).
    """

    def __init__(self, trial: Any, monitor: str) -> None:
        self.trial = trial
        self.monitor = monitor
        #: where the run was pruned: the epoch (1-based) and the value reported then
        self.pruned: dict[str, Any] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        prune, value = False, None
        if trainer.is_global_zero and self.trial is not None:
            metric = trainer.callback_metrics.get(self.monitor)
            value = float(metric) if metric is not None else None
            if value is not None and math.isfinite(value):  # a NaN stops the run anyway
                self.trial.report(value, step=trainer.current_epoch)
                prune = bool(self.trial.should_prune())
        if trainer.world_size > 1:
            prune = bool(trainer.strategy.broadcast(prune, src=0))
        if prune:
            epoch = trainer.current_epoch + 1
            self.pruned = {"epoch": epoch, "metric": self.monitor, "value": value}
            trainer.should_stop = True
