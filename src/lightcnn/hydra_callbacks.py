"""Hydra callback that checks a run before Hydra creates its directory.

A typo costs one error line and leaves nothing behind: no run directory with a half-written
config, and no finished run overwritten.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from lightcnn.errors import LightcnnError


def report(error: LightcnnError) -> None:
    """Print a user error as one line on stderr (no traceback)."""
    print(f"lightcnn: error: {error}", file=sys.stderr, flush=True)


class CheckBeforeRun(Callback):
    """Validate the config and protect finished runs, then let Hydra start the job."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, Path(config.hydra.run.dir))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Sweep overrides are applied per job later; each job validates its own config again.
        self._check(config, None)

    def _check(self, config: DictConfig, run_dir: Path | None) -> None:
        from lightcnn.validation import check_run_dir, validate_config

        try:
            validate_config(config)
            if run_dir is not None:
                check_run_dir(run_dir, resuming=bool(config.get("resume")))
        except LightcnnError as error:
            report(error)
            sys.exit(2)
