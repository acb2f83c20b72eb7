"""The run's console and log in the processes of a spawning strategy (``ddp_spawn``)."""

from __future__ import annotations

import logging
import logging.config
from typing import Any

import lightning as L

from lightcnn.launch.console import configure_console


class SpawnedConsole(L.Callback):
    """Give the processes of a spawning strategy (``ddp_spawn``) the run's console and log.

    Spawned ranks start as fresh interpreters without Hydra's logging: their lines would print
    raw, and the epoch lines of rank 0 not at all. In a process whose logging is already set up
    (the launching one, or a rank re-launched through Hydra) this does nothing.

    Args:
        logging_config: Hydra's job logging config (:func:`job_logging_config`).
    """

    def __init__(self, logging_config: dict[str, Any] | None) -> None:
        self.logging_config = logging_config

    def __setstate__(self, state: dict[str, Any]) -> None:
        # unpickled in a spawned rank with the trainer: before anything there logs a line
        self.__dict__.update(state)
        self._configure()

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._configure()

    def _configure(self) -> None:
        if self.logging_config is None or logging.getLogger().hasHandlers():
            return
        logging.config.dictConfig(self.logging_config)
        configure_console()
