"""Hydra callbacks: checks before a job's directory exists (train, eval, predict), and the
leaderboard after a sweep.

A typo costs one error line and leaves nothing behind: no run directory with a half-written
config, and no finished run or sweep overwritten. Lightning is not imported here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from lightcnn.analysis.leaderboard import build_leaderboard, write_leaderboard
from lightcnn.config.checkpoint_jobs import validate_checkpoint_job
from lightcnn.config.validation import validate_config
from lightcnn.errors import EXIT_USER_ERROR, ConfigError, LightcnnError, is_int, report
from lightcnn.runtime.continuation import check_continuation
from lightcnn.runtime.run_dir import METRICS, check_run_dir, check_sweep_dir, ensure_writable

PLACES = "paths.log_dir (or LIGHTCNN_LOG_DIR, hydra.run.dir, hydra.sweep.dir)"
#: what eval and predict write: a folder holding one of these is not reused
RESULTS = (METRICS, "predictions.json")


class CheckBeforeRun(Callback):
    """Validate the config and protect finished runs, then let Hydra start the job.

    Args:
        protect_run_dir: refuse a run directory that holds a finished run (``train``); off for
            commands that write no run (``summary``).
    """

    def __init__(self, protect_run_dir: bool = True) -> None:
        self.protect_run_dir = protect_run_dir

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_dir = Path(config.hydra.run.dir) if self.protect_run_dir else None
        self._check(config, run_dir=run_dir)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Sweep overrides are applied per job later; each job validates its own config again.
        sweep_dir = Path(config.hydra.sweep.dir) if self.protect_run_dir else None
        self._check(config, sweep_dir=sweep_dir, sweep=True)

    def _check(
        self,
        config: DictConfig,
        run_dir: Path | None = None,
        sweep_dir: Path | None = None,
        sweep: bool = False,
    ) -> None:
        """Config, then the run (or sweep) directory's record, then the checkpoint the run
        starts from, then whether the directory can be written (created last, as Hydra would
        next)."""
        try:
            validate_config(config)
            if run_dir is not None:
                check_run_dir(run_dir, resuming=bool(config.get("resume")))
            check_continuation(config)
            if sweep:
                check_launcher(config)
            if sweep_dir is not None:
                check_sweep_dir(sweep_dir)
            if run_dir is not None or sweep_dir is not None:
                ensure_writable(run_dir or sweep_dir, PLACES)
        except LightcnnError as error:
            report(error)
            sys.exit(EXIT_USER_ERROR)


def check_launcher(config: DictConfig) -> None:
    """``hydra/launcher=slurm`` starts one task per device (``tasks_per_node`` is
    ``trainer.devices``): the devices must be a count."""
    target = OmegaConf.select(config, "hydra.launcher._target_", default="") or ""
    if "SlurmLauncher" not in target:
        return
    for key in ("devices", "num_nodes"):
        value = config.trainer.get(key, 1)
        if not (is_int(value) and value >= 1):
            raise ConfigError(
                f"trainer.{key}={value!r} is not allowed with hydra/launcher=slurm: it must be a "
                f"count >= 1 (the SLURM job asks for it: tasks per node = trainer.devices, "
                f"nodes = trainer.num_nodes)"
            )


class WriteLeaderboard(Callback):
    """At the end of a multirun: ``leaderboard.csv`` and ``leaderboard.md`` in the sweep
    directory, from each job's ``metrics.json``, and the table on the console.

    It runs in the launching process; jobs launched elsewhere (joblib, SLURM) report only
    through their files. ``python -m lightcnn.leaderboard sweep_dir=...`` writes it again.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        direction = OmegaConf.select(config, "hydra.sweeper.direction", default=None)
        board = build_leaderboard(sweep_dir, config.get("optimized_metric"), direction)
        if not board.jobs:  # a command whose jobs write no run directory (summary)
            return
        write_leaderboard(board)
        # printed, not logged: the log handlers still point at the last job's log file
        print(f"\n{board.to_markdown()}", flush=True)


class CheckCheckpointJob(Callback):
    """The ``eval`` and ``predict`` version of :class:`CheckBeforeRun`: the checkpoint is given
    and exists, the options are valid, and the job's folder holds no earlier result.

    Args:
        command: ``eval`` or ``predict``.
    """

    def __init__(self, command: str) -> None:
        self.command = command

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, protect=True)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        # a multirun (-m ckpt_path=a.ckpt,b.ckpt) has its values only per job
        if config.hydra.mode == RunMode.MULTIRUN:
            self._check(config, protect=False)

    def _check(self, config: DictConfig, protect: bool) -> None:
        try:
            validate_checkpoint_job(config, self.command)
            if protect:
                check_result_folder(Path(config.hydra.run.dir), self.command)
        except LightcnnError as error:
            report(error)
            sys.exit(EXIT_USER_ERROR)


def check_result_folder(folder: Path, command: str) -> None:
    """Refuse a folder that holds an earlier result, or that cannot be created.

    Args:
        folder: the job's folder (``hydra.run.dir``).
        command: ``eval`` or ``predict``, for the message.
    """
    if any((folder / name).is_file() for name in RESULTS):
        raise ConfigError(
            f"{folder} already holds results of lightcnn.{command}; choose another "
            "hydra.run.dir (by default each run gets a new, timestamped folder)"
        )
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not os.access(existing, os.W_OK):
        raise ConfigError(
            f"{folder} cannot be created: {existing} is not writable; write the {command} "
            "result elsewhere with hydra.run.dir=<folder>"
        )
