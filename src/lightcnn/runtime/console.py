"""A clean console: every message once, on the terminal and in ``train.log``, without the
lines that say nothing about this run.

Hydra's job logging owns the output (console + ``<task>.log``). Lightning adds a handler of its
own when it is imported before that logging is set up, which printed every Lightning line twice;
its handler is removed and its records go through Hydra's. Warnings are routed through logging
too, so they land in the log file. The lines dropped are named one by one, by logger and
message, never by a blanket filter.
"""

from __future__ import annotations

import logging
import warnings

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

# (message regex, module regex) of dependency warnings that say nothing about the run
DEPENDENCY_WARNINGS: tuple[tuple[str, str], ...] = (
    # torch 2.15 deprecates LeafSpec; Lightning 2.6's pytree helper still uses it
    (
        r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        r"lightning\.pytorch\.utilities\._pytree",
    ),
    # printed on every resume=; lightcnn guards run directories itself (runtime/run_dir.py)
    (r"Checkpoint directory .* exists and is not empty", r"lightning\.pytorch\.callbacks"),
)


class _DropNoise(logging.Filter):
    def __init__(self, starts: tuple[str, ...]) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.starts)


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


def log_to_file(logger: logging.Logger, level: int, message: str) -> None:
    """Write a record to the log files only (``train.log``): for a message the console already
    shows another way, such as the one-line user error."""
    record = logger.makeRecord(logger.name, level, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
