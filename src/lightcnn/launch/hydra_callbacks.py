"""Hydra callbacks: checks before a job's directory exists (train, eval, predict), the lock
that keeps one writer per directory, and the leaderboard after a sweep.

A typo costs one error line and leaves nothing behind: no run directory with a half-written
config, and no finished run or sweep overwritten (an Optuna search continues its own study in
its folder). A run, a sweep and an eval or predict job hold their folder's lock
(``rundir/lock.py``) from before Hydra writes there to their end: a second process writing
there is refused in one line naming the holder. An Optuna search's workers share their sweep
folder (its study gives each trial its own number and folder); each job locks its own folder.
Lightning is not imported here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from lightcnn.config.checkpoint_jobs import validate_checkpoint_job
from lightcnn.config.location import SWEPT_KEYS_ENV
from lightcnn.config.validation import check_train_config
from lightcnn.core.errors import EXIT_USER_ERROR, ConfigError, LightcnnError, is_int, report
from lightcnn.launch.distributed import started_as_other_rank
from lightcnn.rundir.guards import (
    check_result_folder,
    check_run_dir,
    check_sweep_dir,
    ensure_writable,
)
from lightcnn.rundir.layout import STUDY_FILE
from lightcnn.rundir.lock import DirectoryLock, check_not_held, hold
from lightcnn.rundir.resume import RESUME_LATER
from lightcnn.sweeps.leaderboard import build_leaderboard, write_leaderboard
from lightcnn.sweeps.study import study_name

PLACES = "paths.log_dir (or LIGHTCNN_LOG_DIR, hydra.run.dir, hydra.sweep.dir)"
# what a user refused by a folder's lock can do
WAIT_OR_ELSEWHERE = "wait for it to end, or choose another {option}"


class HoldsALock(Callback):
    """A Hydra callback that locks its job's folder (``rundir/lock.py``) until the run ends;
    a process that ends otherwise (an error, a kill) loses the lock with its life."""

    lock: DirectoryLock | None = None

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None


class CheckBeforeRun(HoldsALock):
    """Check a run before Hydra creates its directory: one error line, exit 2, nothing written.

    A single run's config is checked here, once (:func:`check_train_config`; ``train`` is told
    so and does not check it again); each job of a sweep checks its own config when it starts,
    since its values are known only then. A sweep is checked for its folder and launcher.

    Args:
        protect_run_dir: refuse a run directory that holds a finished run (``train``); off for
            commands that write no run (``summary``, which checks its own config).
    """

    def __init__(self, protect_run_dir: bool = True) -> None:
        self.protect_run_dir = protect_run_dir

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_dir = Path(config.hydra.run.dir)
        resuming = bool(config.get("resume"))
        # DDP ranks that Lightning (or torchrun, srun) started run in rank 0's directory
        writer = self.protect_run_dir and not started_as_other_rank()
        hint = RESUME_LATER if resuming else WAIT_OR_ELSEWHERE.format(option="hydra.run.dir")
        with refused_in_one_line():
            if writer:
                check_not_held(run_dir, hint)
                check_run_dir(run_dir, resuming=resuming)
            check_train_config(config)
            if writer:
                ensure_writable(run_dir, PLACES)  # creates it, as Hydra does next
                self.lock = hold(run_dir, hint)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.release()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        with refused_in_one_line():
            check_launcher(config)
            if self.protect_run_dir:
                sweep_dir = Path(config.hydra.sweep.dir)
                hint = WAIT_OR_ELSEWHERE.format(option="hydra.sweep.dir")
                # an Optuna study's workers may share the folder: its storage numbers the trials
                shared = is_optuna_search(config)
                if not shared:
                    check_not_held(sweep_dir, hint)
                check_sweep_dir(sweep_dir, continues_study=continues_study(config, sweep_dir))
                ensure_writable(sweep_dir, PLACES)
                if not shared:
                    self.lock = hold(sweep_dir, hint)  # each job holds its own folder too
            # each job's folder names these keys' values (config/location.py:job_dir); the
            # jobs inherit the variable in whatever process a launcher starts them
            os.environ[SWEPT_KEYS_ENV] = ",".join(swept_keys(config))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.release()  # after the leaderboard: Hydra calls end hooks in reverse order


@contextmanager
def refused_in_one_line(cleanup: Callable[[], None] | None = None) -> Iterator[None]:
    """Print a lightcnn error raised inside as one line and exit with status 2.

    Args:
        cleanup: called first, to remove what the refused command made (an empty folder).
    """
    try:
        yield
    except LightcnnError as error:
        if cleanup is not None:
            cleanup()
        report(error)
        sys.exit(EXIT_USER_ERROR)


def swept_keys(config: DictConfig) -> list[str]:
    """The keys a multirun varies: its sweep overrides (``model.pool=max,avg``,
    ``choice(...)``, ``interval(...)``) and the sweeper's ``params``."""
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    lines = [f"{key}={value}" for key, value in params.items()]
    lines += list(config.hydra.overrides.task)
    keys: list[str] = []
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        if override.is_sweep_override() and key not in keys:
            keys.append(key)
    return keys


def is_optuna_search(config: DictConfig) -> bool:
    """Whether this multirun runs lightcnn's Optuna sweeper (``hydra_plugins/lightcnn/``)."""
    target = OmegaConf.select(config, "hydra.sweeper._target_", default="") or ""
    return target.endswith("lightcnn.optuna_sweeper.OptunaSweeper")


def continues_study(config: DictConfig, sweep_dir: Path) -> bool:
    """Whether this multirun is lightcnn's Optuna search continuing the study its folder holds:
    the same study (``multirun.yaml``), stored in the folder (``optuna.db``) or at the same
    ``storage``."""
    saved = sweep_dir / "multirun.yaml"
    if not is_optuna_search(config) or not saved.is_file():
        return False
    earlier = (yaml.safe_load(saved.read_text()) or {}).get("hydra", {}).get("sweeper", {})
    sweeper = config.hydra.sweeper
    same_study = study_name(earlier.get("study_name"), sweep_dir) == study_name(
        sweeper.study_name, sweep_dir
    )
    stored = earlier.get("storage") == sweeper.storage
    if sweeper.storage is None:
        stored = stored and (sweep_dir / STUDY_FILE).is_file()
    return same_study and stored


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


class CheckCheckpointJob(HoldsALock):
    """The ``eval`` and ``predict`` version of :class:`CheckBeforeRun`: the checkpoint is given
    and exists, the options are valid, and the job's folder holds no earlier result.

    Args:
        command: ``eval`` or ``predict``.
    """

    def __init__(self, command: str) -> None:
        self.command = command

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, protect=True)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.release()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        # a multirun (-m ckpt_path=a.ckpt,b.ckpt) has its values only per job
        if config.hydra.mode == RunMode.MULTIRUN:
            self._check(config, protect=False)

    def _check(self, config: DictConfig, protect: bool) -> None:
        folder = Path(config.hydra.run.dir)
        hint = WAIT_OR_ELSEWHERE.format(option="hydra.run.dir")
        with refused_in_one_line():
            if protect:
                check_not_held(folder, hint)
            validate_checkpoint_job(config, self.command)
            if protect:
                check_result_folder(folder, self.command)
                self.lock = hold(folder, hint)  # creates it, as Hydra does next
