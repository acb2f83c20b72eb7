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
import sys
import warnings
from typing import Any

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
    # a warning for what is normal: the first run of an experiment creates it
    ("lightning.pytorch.loggers.mlflow", "Experiment with name"),
)

# (message regex, category, module regex) of warnings Lightning's own code raises that say
# nothing about the run: each one by its exact message, only when raised from Lightning
DEPENDENCY_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    # torch 2.15 deprecates LeafSpec; Lightning 2.6 still builds one for every CombinedLoader
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning, r"lightning\."),
    # printed on every resume=; lightcnn guards run directories itself (rundir/guards.py)
    (
        r"Checkpoint directory .* exists and is not empty",
        UserWarning,
        r"lightning\.pytorch\.callbacks",
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
    for message, category, module in DEPENDENCY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
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


def log_to_file(logger: logging.Logger, level: int, message: str) -> None:
    """Write a record to the log files only (``train.log``): for a message the console already
    shows another way, such as the one-line user error."""
    record = logger.makeRecord(logger.name, level, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def interactive() -> bool:
    """Whether stdout is a terminal (rich progress bar) or a file or pipe (plain lines)."""
    return sys.stdout.isatty()
