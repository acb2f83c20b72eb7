"""One job, alone or in a sweep: what surrounds the training so that a sweep outlives its jobs.

- Every job leaves ``metrics.json``; a failed one records its status and error
  (:func:`~lightcnn.rundir.record.write_failure_record`), and keeps its log and TensorBoard
  events. A single run that failed before its training started (data not found, a model that
  does not fit the data) leaves no directory, as a config error does.
- One writer per directory: a job of a sweep holds its own directory's lock
  (``rundir/lock.py``; a single run holds it from ``launch/hydra_callbacks.py``).
- In a sweep a failed job does not raise: Hydra's basic sweeper would abort the sweep (and skip
  the leaderboard), and Optuna's crashes on a NaN or None objective. The job returns the worst
  value instead (-inf when maximizing), which Optuna records as a completed, worst trial.
- Only rank 0 reports and records. DDP is set up per job (:mod:`.distributed`) and parallel
  local jobs get their own device (:mod:`.parallel`).

No Lightning here: it loads with the training.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from lightcnn.core.clock import seconds_since_start, start_clock
from lightcnn.launch.distributed import (
    global_rank,
    lightning_hydra_relaunch,
    started_as_other_rank,
)
from lightcnn.launch.parallel import place_parallel_job
from lightcnn.rundir.guards import discard_unused_run_dir, is_unused_run_dir
from lightcnn.rundir.layout import LAST, job_number
from lightcnn.rundir.lock import DirectoryInUseError, hold
from lightcnn.rundir.record import training_started, write_failure_record
from lightcnn.sweeps.leaderboard import finite, metric_direction, worst_value

log = logging.getLogger("lightcnn")


@dataclass
class Job:
    """The current Hydra job.

    Args:
        run_dir: its run directory.
        in_sweep: whether it is one job of a multirun.
        metric: the metric returned to the sweeper (``optimized_metric``), or None.
        direction: ``maximize`` or ``minimize`` (the sweeper's, else by the metric's name).
        seed: the run's seed, for the failure record.
        continuing: whether it continues a run in its own directory (``resume=``): a failed
            continuation is recorded in its own attempt record only, never in the run's
            ``metrics.json`` (``rundir/record.py``).
    """

    run_dir: Path
    in_sweep: bool
    metric: str | None
    direction: str
    seed: Any
    continuing: bool = False

    @classmethod
    def current(cls, cfg: DictConfig) -> Job:
        """The job Hydra is running with ``cfg``."""
        hydra = HydraConfig.get()
        metric = cfg.get("optimized_metric")
        direction = OmegaConf.select(hydra, "sweeper.direction", default=None)
        return cls(
            run_dir=Path(cfg.paths.output_dir),
            in_sweep=hydra.mode == RunMode.MULTIRUN,
            metric=metric,
            direction=metric_direction(metric or "val/acc", direction),
            seed=cfg.get("seed"),
            continuing=bool(cfg.get("resume")),
        )

    @property
    def name(self) -> str:
        """The job's number in its sweep (its folder's name goes on with the swept values)."""
        number = job_number(self.run_dir.name)
        return self.run_dir.name if number is None else str(number)

    @property
    def rank(self) -> int:
        """This process's rank (0 unless it is one of the other ranks of a DDP job)."""
        return global_rank()

    @contextmanager
    def scope(self, cfg: DictConfig) -> Iterator[None]:
        """Around the training: a job of a sweep holds its directory's lock; DDP ranks run this
        very job; a parallel job gets its device."""
        with ExitStack() as stack:
            if self.in_sweep:  # this job's times count from its own start (metrics.json)
                start_clock()
                if not started_as_other_rank():  # ranks of this job run in its directory
                    hint = "this job of the sweep is skipped"
                    stack.enter_context(hold(self.run_dir, hint))
            stack.enter_context(lightning_hydra_relaunch(self.run_dir, self.in_sweep))
            place_parallel_job(cfg)
            yield

    @property
    def worst(self) -> float:
        """The value a failed job returns to the sweeper."""
        return worst_value(self.direction)

    def objective(self, metrics: dict[str, Any]) -> float | None:
        """The value returned to the sweeper: the optimized metric; in a sweep, the worst value
        when it is missing or not finite (a diverged run)."""
        if self.metric is None:
            return None
        value = finite(metrics.get(self.metric))
        if value is None and self.in_sweep:
            return self.worst
        return value

    def stopped_by_scheduler(self, error: BaseException) -> bool:
        """Whether ``error`` is submitit stopping the job at SLURM's time limit (or a
        preemption) without requeueing it: an interruption to resume, not a failure.

        Logs where the run stopped and how to continue it.
        """
        submitit = sys.modules.get("submitit.core.utils")
        if submitit is None or not isinstance(error, submitit.UncompletedJobError):
            return False
        if self.rank == 0:
            log.warning(
                "Stopped by the scheduler (%s). The last complete epoch is in %s; continue with:\n"
                "  python -m lightcnn.train resume=%s",
                error,
                self.run_dir / LAST,
                self.run_dir,
            )
        return True

    def record_failure(self, error: BaseException) -> None:
        """Write the failed job's ``metrics.json`` (rank 0 only).

        A single run whose training never started, and that wrote nothing but its config and
        log, is removed instead, as if it had never started: a config or data error leaves
        nothing. Once training started, the directory is kept with its evidence. A job refused
        because another process writes its directory writes nothing there.
        """
        if self.rank != 0 or not self.run_dir.is_dir() or self.continuing:
            return
        if isinstance(error, DirectoryInUseError):
            return
        unused = not training_started(self.run_dir) and is_unused_run_dir(self.run_dir)
        if not self.in_sweep and unused:
            discard_unused_run_dir(self.run_dir)
            return
        write_failure_record(self.run_dir, error, self.seed, seconds_since_start())


def hydra_command(module: str) -> str:
    """``python -m <module> <the command line's overrides>``, when Hydra runs the job (the line
    a report quotes to say how it was made).

    Args:
        module: the entry point (``lightcnn.train``, ``lightcnn.eval``).
    """
    if not HydraConfig.initialized():
        return ""
    overrides = HydraConfig.get().overrides.task
    return " ".join(["python -m", module, *overrides])
