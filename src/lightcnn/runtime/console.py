"""A clean console: every message once, on the terminal and in ``train.log``, without the
lines that say nothing about this run.

Hydra's job logging owns the output (console + ``<task>.log``). Lightning adds a handler of its
own when it is imported before that logging is set up, which printed every Lightning line twice;
its handler is removed and its records go through Hydra's. Warnings are routed through logging
too, so they land in the log file. The lines dropped are named one by one, by logger and
message, never by a blanket filter. Under DDP only rank 0 prints lightcnn's lines (the other
ranks keep their warnings and errors), as Lightning does with its own.
"""

from __future__ import annotations

import logging
import logging.config
import warnings
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf
from omegaconf.errors import InterpolationResolutionError, MissingMandatoryValue

# (logger, message start) of Lightning lines that say nothing about the run
NOISE: tuple[tuple[str, str], ...] = (
    # an advertisement for a cloud logger, printed by every Trainer
    ("lightning.pytorch.utilities.rank_zero", "💡 Tip:"),
    ("lightning.fabric.utilities.rank_zero", "💡 Tip:"),
    # printed because the config names its model summary callback explicitly
    ("lightning.pytorch.utilities.rank_zero", "Trainer already configured with model summary"),
    ("lightning.pytorch.utilities.rank_zero", "TPU available: False"),
    ("lightning.pytorch.utilities.rank_zero", "Loading `train_dataloader` to estimate"),
)

# (message regex, module regex) of dependency warnings a default run triggers, not its own code
DEPENDENCY_WARNINGS: tuple[tuple[str, str], ...] = (
    # torch 2.15 deprecates LeafSpec; Lightning 2.6's pytree helper still uses it
    (
        r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        r"lightning\.pytorch\.utilities\._pytree",
    ),
)


class _DropNoise(logging.Filter):
    def __init__(self, starts: tuple[str, ...]) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.starts)


class _RankZeroInfo(logging.Filter):
    """lightcnn's info lines from rank 0 only; the rank is read when a line is logged (a
    spawned rank learns it after its logging is set up)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or not record.name.startswith("lightcnn"):
            return True
        from lightning.fabric.utilities.rank_zero import rank_zero_only

        return getattr(rank_zero_only, "rank", 0) == 0


def configure_console() -> None:
    """Route Lightning's records and Python warnings through the root logger, once each, and
    drop the lines listed in :data:`NOISE`. Safe to call more than once."""
    root_configured = logging.getLogger().hasHandlers()
    # `lightning` adds a handler at import; `lightning.pytorch` and `lightning.fabric` add one
    # and stop propagation when imported before the root logger is set up
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        if root_configured:
            for handler in list(logger.handlers):
                if type(handler) is logging.StreamHandler:
                    logger.removeHandler(handler)
            logger.propagate = True
    by_logger: dict[str, tuple[str, ...]] = {}
    for name, start in NOISE:
        by_logger[name] = (*by_logger.get(name, ()), start)
    for name, starts in by_logger.items():
        logger = logging.getLogger(name)
        logger.filters = [f for f in logger.filters if not isinstance(f, _DropNoise)]
        logger.addFilter(_DropNoise(starts))
    for message, module in DEPENDENCY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, module=module)
    if root_configured:
        logging.captureWarnings(True)
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, _RankZeroInfo) for f in handler.filters):
                handler.addFilter(_RankZeroInfo())


def job_logging_config() -> dict[str, Any] | None:
    """Hydra's job logging config of this run (resolved), or None outside a Hydra job (a
    config composed in Python has no run directory for the log file)."""
    if not HydraConfig.initialized():
        return None
    try:
        return OmegaConf.to_container(HydraConfig.get().job_logging, resolve=True)  # type: ignore[return-value]
    except (MissingMandatoryValue, InterpolationResolutionError):
        return None


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
