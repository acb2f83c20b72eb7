"""Compose an entry config from Python, as ``python -m lightcnn.train <overrides>`` would.

For notebooks and scripts: the composed config goes to :func:`lightcnn.train.train` (or
``lightcnn.launch.fit.fit_and_test``) and the run lands in ``run_dir``, with the same
validation, checkpoints, ``report/`` and ``metrics.json`` as a run started from the command
line::

    from lightcnn.config.compose import compose_run
    from lightcnn.train import train

    cfg = compose_run(["trainer.max_epochs=1", "model.pool=avg"], run_dir="/tmp/run")
    metrics, objects = train(cfg)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from lightcnn.config.location import CONF_DIR


def compose_run(
    overrides: Sequence[str] = (),
    run_dir: str | Path | None = None,
    config_name: str = "train",
) -> DictConfig:
    """The composed config of one run, with Hydra's own config set for it as ``@hydra.main``
    sets it (the run's ``paths.output_dir`` is ``run_dir``).

    Only the configuration is made: no folder is created and nothing is checked yet (the run
    validates its config when it starts, and a bad value raises a ``ConfigError``).

    Args:
        overrides: command-line overrides, e.g. ``["model=lenet5_1998", "seed=7"]``.
        run_dir: the run's directory; default: a new one under ``paths.log_dir`` as the
            command line would pick (``logs/train/runs/<date>_<time>_<suffix>``).
        config_name: the entry config in ``conf/`` (``train``, ``eval``, ``predict``, ...).
    """
    overrides = list(overrides)
    if run_dir is not None:
        overrides.append(f"hydra.run.dir={quoted(str(Path(run_dir).expanduser().resolve()))}")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(cfg.hydra.run.dir)
    return cfg


def quoted(value: str) -> str:
    """``value`` as a quoted Hydra override value, so that any path (spaces, parentheses,
    commas, quotes) stays one string. Hydra's grammar escapes only quotes and the backslashes
    right before a quote or the closing quote.

    Args:
        value: the raw text.
    """
    escaped = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", value)
    escaped = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, escaped)
    return f"'{escaped}'"
