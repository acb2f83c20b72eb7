"""Hydra callback that checks a job before Hydra creates its directory.

A typo costs one error line and leaves nothing behind: no run directory with a half-written
config, and no finished run overwritten. Lightning is not imported here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from lightcnn.config.validation import validate_config
from lightcnn.errors import EXIT_USER_ERROR, LightcnnError, report
from lightcnn.runtime.continuation import check_continuation
from lightcnn.runtime.run_dir import check_run_dir, ensure_writable

PLACES = "paths.log_dir (or LIGHTCNN_LOG_DIR, hydra.run.dir, hydra.sweep.dir)"


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
        self._check(config, None, Path(config.hydra.sweep.dir))

    def _check(
        self, config: DictConfig, run_dir: Path | None, sweep_dir: Path | None = None
    ) -> None:
        """Config, then the run directory's record, then the checkpoint it starts from, then
        whether the directory can be written (created last, as Hydra would next)."""
        try:
            validate_config(config)
            if run_dir is not None:
                check_run_dir(run_dir, resuming=bool(config.get("resume")))
            check_continuation(config)
            if run_dir is not None or sweep_dir is not None:
                ensure_writable(run_dir or sweep_dir, PLACES)
        except LightcnnError as error:
            report(error)
            sys.exit(EXIT_USER_ERROR)
