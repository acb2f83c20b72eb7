"""Pieces of a run shared by the entry points: callbacks, loggers, metrics file, hparams."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from lightcnn.callbacks import EpochLog
from lightcnn.errors import LightcnnError


def interactive() -> bool:
    """Whether stdout is a terminal (rich progress bar) or a file or pipe (plain lines)."""
    return sys.stdout.isatty()


def instantiate_target(node: DictConfig, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate``, letting a user error from the target through as itself.

    Hydra wraps whatever a target raises in an ``InstantiationException``; a lightcnn error
    (a bad option, missing weights) is re-raised unwrapped so the entry point prints its one
    line and exits with status 2.

    Args:
        node: a config node with a ``_target_``.
        **kwargs: passed to ``instantiate``.
    """
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, LightcnnError):
            raise error.__cause__ from None
        raise


def build_callbacks(cfg: DictConfig | None) -> list[L.Callback]:
    """Instantiate every callback of the ``callbacks`` group, plus the progress display.

    Args:
        cfg: the ``callbacks`` config: a mapping of name → ``_target_`` config.
    """
    callbacks = [instantiate(node) for node in (cfg or {}).values() if node and "_target_" in node]
    callbacks.append(RichProgressBar() if interactive() else EpochLog())
    return callbacks


def build_loggers(cfg: DictConfig | None) -> list[Logger]:
    """Instantiate every logger of the ``logger`` group.

    Args:
        cfg: the ``logger`` config: a mapping of name → ``_target_`` config.
    """
    return [instantiate(node) for node in (cfg or {}).values() if node and "_target_" in node]


def hparams_for_logging(cfg: DictConfig) -> dict[str, Any]:
    """The choices worth comparing across runs: model, data loading, seed and epochs."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    return {
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "data": {key: data[key] for key in ("_target_", "batch_size", "image_size") if key in data},
        "seed": cfg.seed,
        "max_epochs": cfg.trainer.get("max_epochs"),
    }


def log_final_hparams(loggers: list[Logger], cfg: DictConfig, metrics: dict[str, Any]) -> None:
    """Write the run's hparams with its final val/test metrics (TensorBoard's HPARAMS tab).

    The metrics go under ``hp/`` so they do not add points to the ``val/`` and ``test/`` curves.
    """
    final = {
        f"hp/{name.replace('/', '_')}": value
        for name, value in metrics.items()
        if isinstance(value, float)
    }
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(hparams_for_logging(cfg), metrics=final)
            logger.finalize("success")


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as JSON atomically: a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)
