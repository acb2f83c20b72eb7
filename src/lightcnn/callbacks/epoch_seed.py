"""Reseed every random generator at each epoch start from (seed, epoch).

Dropout, shuffling and augmentation of epoch ``e`` then depend only on the seed and ``e``, not
on what happened before: a run resumed from an end-of-epoch checkpoint repeats the
uninterrupted run exactly (with ``deterministic=true`` on CPU).
"""

from __future__ import annotations

import lightning as L
from lightning.fabric.utilities.seed import seed_everything


class EpochSeed(L.Callback):
    """Call ``seed_everything(seed + 1000 · epoch)`` at each training epoch start.

    Args:
        seed: the run's seed.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seed_everything(self.seed + 1000 * trainer.current_epoch, workers=True, verbose=False)
