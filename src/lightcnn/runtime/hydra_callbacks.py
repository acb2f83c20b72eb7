"""Hydra callbacks that check a job before Hydra creates its directory.

A typo costs one error line and leaves nothing behind: no run directory with a half-written
config, and no finished run overwritten. Lightning is not imported here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from lightcnn.config.checkpoint_jobs import validate_checkpoint_job
from lightcnn.config.validation import validate_config
from lightcnn.errors import EXIT_USER_ERROR, ConfigError, LightcnnError, report
from lightcnn.runtime.run_dir import METRICS, check_run_dir

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
        self._check(config, Path(config.hydra.run.dir) if self.protect_run_dir else None)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Sweep overrides are applied per job later; each job validates its own config again.
        self._check(config, None)

    def _check(self, config: DictConfig, run_dir: Path | None) -> None:
        try:
            validate_config(config)
            if run_dir is not None:
                check_run_dir(run_dir, resuming=bool(config.get("resume")))
        except LightcnnError as error:
            report(error)
            sys.exit(EXIT_USER_ERROR)


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
