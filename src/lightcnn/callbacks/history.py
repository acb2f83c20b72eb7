"""Per-epoch metrics with the wall time since the process started, for ``metrics.json``.

Time-to-accuracy is read from the run's own files: each entry of ``history`` says when (in
seconds since the training process started, start-up included) an epoch's validation ended.
A job of a sweep counts from its own start instead (``core/clock.py``), so jobs that share a
process compare.
"""

from __future__ import annotations

from typing import Any

import lightning as L

from lightcnn.core.clock import seconds_since_start


class TrainingHistory(L.Callback):
    """Record, after each training epoch and its validation, the epoch's scalar ``train/*`` and
    ``val/*`` metrics and ``elapsed_s`` (seconds since the process started).

    The history is saved in checkpoints, so a resumed run keeps the epochs before the
    interruption (their ``elapsed_s`` counted in the process that ran them); each entry names
    the ``attempt`` of the run directory that trained it (``rundir/record.py``).

    Args:
        attempt: this process's attempt number (0: the run itself; n: its n-th continuation).
    """

    def __init__(self, attempt: int = 0) -> None:
        self.attempt = attempt
        self.epochs: list[dict[str, Any]] = []
        self.ran: list[int] = []  # the epochs this process trained (not restored)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        entry: dict[str, Any] = {
            "epoch": trainer.current_epoch + 1,
            "attempt": self.attempt,
            "elapsed_s": round(seconds_since_start(), 2),
        }
        self.ran.append(entry["epoch"])
        for name, value in sorted(trainer.callback_metrics.items()):
            # the epoch's values: Lightning's `_step` names hold the last step's
            scalar = value.numel() == 1 and not name.endswith("_step")
            if name.startswith(("train/", "val/")) and scalar:
                entry[name] = float(value)
        self.epochs.append(entry)

    def epochs_of(self, attempt: int) -> list[int]:
        """The epochs an attempt trained, by the ``attempt`` its entries carry."""
        return [entry["epoch"] for entry in self.epochs if entry.get("attempt") == attempt]

    def first_reaching(self, metric: str, thresholds: list[float]) -> dict[str, float]:
        """``{threshold: elapsed_s}`` of the first epoch whose ``metric`` reached each
        threshold (thresholds never reached are left out).

        Args:
            metric: a recorded metric, e.g. ``val/acc``.
            thresholds: the levels to look for.
        """
        reached = {}
        for threshold in thresholds:
            for entry in self.epochs:
                if entry.get(metric, float("-inf")) >= threshold:
                    reached[str(threshold)] = entry["elapsed_s"]
                    break
        return reached

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.epochs = list(state_dict["epochs"])
