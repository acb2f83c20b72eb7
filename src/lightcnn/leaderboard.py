"""Leaderboard entry point: ``python -m lightcnn.leaderboard sweep_dir=<sweep folder>``.

Every multirun writes ``leaderboard.csv`` and ``leaderboard.md`` into its sweep folder when it
ends. This command writes them again from the job folders, for a sweep that was interrupted or is
still running, or sorted by another metric (``metric=test/acc``), and prints the table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

from lightcnn.config import CONF_DIR
from lightcnn.core.errors import EXIT_USER_ERROR, ConfigError, LightcnnError, report
from lightcnn.lit.options import REPORTED_METRICS
from lightcnn.sweeps.leaderboard import build_leaderboard, metric_direction, write_leaderboard


def rebuild(cfg: DictConfig) -> str:
    """Write the leaderboard of ``cfg.sweep_dir``; return it as Markdown.

    Args:
        cfg: the composed ``leaderboard`` config (``sweep_dir``, ``metric``, ``direction``).
    """
    try:
        sweep_dir = Path(str(cfg.sweep_dir)).expanduser().resolve()
    except MissingMandatoryValue:
        raise ConfigError(
            "sweep_dir is missing: name the sweep's folder, e.g. "
            "sweep_dir=logs/train/multiruns/<date>_<time>_<suffix>"
        ) from None
    if not sweep_dir.is_dir():
        raise ConfigError(f"sweep_dir={cfg.sweep_dir}: no such folder")
    if cfg.metric is not None and cfg.metric not in REPORTED_METRICS:
        raise ConfigError(
            f"metric={cfg.metric!r} is not allowed: it must be one of {', '.join(REPORTED_METRICS)}"
        )
    metric_direction(cfg.metric or "val/acc", cfg.direction)  # a bad direction fails here
    board = build_leaderboard(sweep_dir, cfg.metric, cfg.direction)
    if not board.jobs:
        raise ConfigError(
            f"sweep_dir={cfg.sweep_dir}: no job folders in it (folders with a .hydra/ record)"
        )
    write_leaderboard(board)
    return board.to_markdown()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="leaderboard")
def main(cfg: DictConfig) -> None:
    try:
        print(rebuild(cfg), end="")
    except LightcnnError as error:
        report(error)
        sys.exit(EXIT_USER_ERROR)


if __name__ == "__main__":
    main()
