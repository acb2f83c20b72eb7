"""The leaderboard of a sweep: one row per job, read from the job directories on disk.

The jobs of a multirun may run in this process, in joblib workers or on SLURM nodes, so nothing
comes back in memory: every job directory holds ``.hydra/overrides.yaml`` (what it ran) and
``metrics.json`` (what it reached, or, with ``status: failed``, why it stopped; ``pruned``: the
epoch at which an Optuna pruner stopped it). A job folder without ``metrics.json`` is
``incomplete``: interrupted, killed, or still running. Jobs are keyed by number, the start of
their folder's name (``3_model.pool-max_seed-1``: job 3).

The table is sorted by the sweep's optimized metric with the best job marked; jobs that differ
only by ``seed`` are also aggregated as mean ± std (sample standard deviation) over their seeds.
An Optuna search adds its study's view (``optimization_results.yaml``): the best trial, the
parameter importances and the optuna-dashboard command. Written as ``leaderboard.csv`` (full
precision, one column per swept key) and ``leaderboard.md``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lightcnn.core.errors import ConfigError
from lightcnn.core.io import write_text
from lightcnn.rundir.layout import COMPLETED, FAILED, METRICS, PRUNED, job_number, short_number
from lightcnn.rundir.layout import REPORTED_METRICS as REPORTED

CSV_NAME, MARKDOWN_NAME = "leaderboard.csv", "leaderboard.md"
#: what an Optuna search writes into its sweep folder (``lightcnn.sweeps.optuna_search``)
OPTUNA_RESULTS = "optimization_results.yaml"
#: a job folder without metrics.json: still running, or killed before it could write one
INCOMPLETE = "incomplete"
DIRECTIONS = ("maximize", "minimize")
SEED = "seed"


def metric_direction(metric: str, direction: Any = None) -> str:
    """``maximize`` or ``minimize``: the sweeper's direction when it has one (Optuna's, the
    first of a list), else by the metric's name (a loss is minimized).

    Args:
        metric: the optimized metric (``val/acc``).
        direction: the sweeper's ``direction`` setting, if any.
    """
    if isinstance(direction, list | tuple):
        direction = direction[0] if direction else None
    if direction is None:
        return "minimize" if "loss" in metric else "maximize"
    name = str(direction).lower()
    if name not in DIRECTIONS:
        raise ConfigError(
            f"direction={direction!r} is not allowed: it must be maximize or minimize"
        )
    return name


def worst_value(direction: str) -> float:
    """The value of a failed job for a sweeper: worse than any real result (Optuna accepts
    infinities; NaN or None would crash its study)."""
    return -math.inf if direction == "maximize" else math.inf


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass
class JobResult:
    """One job of a sweep, as its directory records it.

    Args:
        name: the job's number (its folder's name without the swept values, which the
            overrides hold), or the folder's whole name when it has no number.
        run_dir: the job's directory.
        overrides: its command-line overrides (``key → value``), sweep values included.
        status: ``completed``, ``failed``, ``pruned`` or ``incomplete``.
        metrics: the content of its ``metrics.json`` (empty when there is none).
    """

    name: str
    run_dir: Path
    overrides: dict[str, str]
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)

    def value(self, metric: str) -> float | None:
        """The job's ``metric`` if it completed with a finite value."""
        return finite(self.metrics.get(metric)) if self.status == COMPLETED else None

    @property
    def epochs(self) -> int | None:
        history = self.metrics.get("history")
        return len(history) if isinstance(history, list) else None

    @property
    def wall_time_s(self) -> float | None:
        return finite(self.metrics.get("wall_time_s"))

    @property
    def error(self) -> str:
        return str(self.metrics.get("error") or "")

    @property
    def described_status(self) -> str:
        """The status, with why a job failed or where it was pruned."""
        if self.status == FAILED:
            return f"failed: {_short(self.error)}"
        pruned = self.metrics.get(PRUNED)
        if self.status == PRUNED and isinstance(pruned, dict):
            value = finite(pruned.get("value"))
            reached = f" ({pruned.get('metric')}={value:.4f})" if value is not None else ""
            return f"pruned after epoch {pruned.get('epoch')}{reached}"
        return self.status


def read_job(run_dir: Path) -> JobResult:
    """Read one job directory (``.hydra/overrides.yaml`` and ``metrics.json``)."""
    overrides: dict[str, str] = {}
    saved = run_dir / ".hydra" / "overrides.yaml"
    items = (yaml.safe_load(saved.read_text()) or []) if saved.is_file() else []
    for item in items:
        key, _, value = str(item).partition("=")
        overrides[key] = value
    metrics: dict[str, Any] = {}
    status = INCOMPLETE
    if (run_dir / METRICS).is_file():
        try:
            metrics = json.loads((run_dir / METRICS).read_text())
            status = metrics.get("status", COMPLETED)
        except ValueError as error:
            metrics, status = {"error": f"unreadable {METRICS}: {error}"}, FAILED
    number = job_number(run_dir.name)
    name = run_dir.name if number is None else str(number)
    return JobResult(name, run_dir, overrides, status, metrics)


def find_jobs(sweep_dir: Path) -> list[JobResult]:
    """Every job directory of a sweep (a folder holding ``.hydra/``), in job order."""

    def order(folder: Path) -> tuple[int, int, str]:
        number = job_number(folder.name)
        return (1, 0, folder.name) if number is None else (0, number, "")

    folders = sorted((p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir()), key=order)
    return [read_job(folder) for folder in folders]


@dataclass
class SeedGroup:
    """Jobs that differ only by ``seed``: their metrics as mean ± std over the seeds."""

    overrides: dict[str, str]
    jobs: list[JobResult]

    def values(self, metric: str) -> list[float]:
        found = (job.value(metric) for job in self.jobs)
        return [value for value in found if value is not None]

    def wall_times(self) -> list[float]:
        found = (job.wall_time_s for job in self.jobs if job.status == COMPLETED)
        return [value for value in found if value is not None]

    @property
    def completed(self) -> int:
        return sum(job.status == COMPLETED for job in self.jobs)


def mean_std(values: Sequence[float]) -> tuple[float, float] | None:
    """Mean and sample standard deviation (0 for one value); None for no values."""
    if not values:
        return None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


@dataclass
class Leaderboard:
    """A sweep's jobs sorted by ``metric`` (best first), with the swept keys and seed groups.

    Args:
        sweep_dir: the sweep's folder.
        metric: the metric sorted by (the sweep's ``optimized_metric``).
        direction: ``maximize`` or ``minimize``.
        jobs: every job, sorted: completed by metric, then failed, then incomplete.
        swept: the override keys whose values differ between jobs, in first-seen order.
        common: the overrides every job shares.
        best_params: Optuna's best parameters (``optimization_results.yaml``), if written.
        study: the rest of what the Optuna search wrote there (the best trial, importances,
            the dashboard command), if anything.
    """

    sweep_dir: Path
    metric: str
    direction: str
    jobs: list[JobResult]
    swept: list[str]
    common: dict[str, str]
    best_params: dict[str, Any] | None = None
    study: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> JobResult | None:
        """The job with the best finite metric."""
        first = self.jobs[0] if self.jobs else None
        return first if first is not None and first.value(self.metric) is not None else None

    @property
    def shown_metrics(self) -> list[str]:
        """The optimized metric, then validation and test accuracy."""
        return [self.metric, *(m for m in ("val/acc", "test/acc") if m != self.metric)]

    def seed_groups(self) -> list[SeedGroup]:
        """Jobs grouped by every swept value but the seed (only when the seed was swept)."""
        if SEED not in self.swept:
            return []
        keys = [key for key in self.swept if key != SEED]
        groups: dict[tuple[str, ...], SeedGroup] = {}
        for job in self.jobs:
            values = {key: job.overrides.get(key, "") for key in keys}
            group = groups.setdefault(tuple(values.values()), SeedGroup(values, []))
            group.jobs.append(job)
        ordered = list(groups.values())
        sign = -1.0 if self.direction == "maximize" else 1.0

        def order(group: SeedGroup) -> tuple[int, float]:
            stats = mean_std(group.values(self.metric))
            return (0, sign * stats[0]) if stats else (1, 0.0)

        return sorted(ordered, key=order)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for job in self.jobs:
            counts[job.status] = counts.get(job.status, 0) + 1
        return counts

    def summary(self) -> str:
        """One line: jobs by status, the best job and its value."""
        counts = ", ".join(f"{n} {status}" for status, n in self.counts().items())
        line = f"{len(self.jobs)} job{'s' if len(self.jobs) != 1 else ''} ({counts})"
        best = self.best
        if best is not None:
            line += f"; best {self.metric}={best.value(self.metric):.4f}: job {best.name}"
            chosen = " ".join(f"{key}={best.overrides.get(key, '')}" for key in self.swept)
            line += f" ({chosen})" if chosen else ""
        return line

    def to_csv(self) -> str:
        """One row per job: rank, job, status, best, the swept values, metrics, error."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        columns = ["rank", "job", "status", "best", *self.swept, *REPORTED]
        writer.writerow([*columns, "epochs", "wall_time_s", "error", "run_dir"])
        for rank, job in self._ranked():
            writer.writerow(
                [
                    rank or "",
                    job.name,
                    job.status,
                    job is self.best,
                    *(job.overrides.get(key, "") for key in self.swept),
                    *(_plain(job.metrics.get(name)) for name in REPORTED),
                    _plain(job.epochs),
                    _plain(job.wall_time_s),
                    job.error,
                    str(job.run_dir),
                ]
            )
        return buffer.getvalue()

    def to_markdown(self) -> str:
        """The leaderboard, the seed aggregation and the best parameters, as Markdown."""
        lines = [
            f"# Leaderboard: {self.sweep_dir.name}",
            "",
            f"`{self.sweep_dir}`: {self.summary()}.",
            f"Sorted by `{self.metric}` ({self.direction}); ★ marks the best job.",
        ]
        if self.common:
            shared = " ".join(f"{key}={value}" for key, value in self.common.items())
            lines.append(f"Every job: `{shared}`.")
        metrics = self.shown_metrics
        header = ["rank", "job", *self.swept, *metrics, "epochs", "time (s)", "status"]
        lines += ["", *_table(header)]
        for rank, job in self._ranked():
            mark = f"★ {rank}" if job is self.best else str(rank or "")
            lines.append(
                _row(
                    [
                        mark,
                        job.name,
                        *(short_number(job.overrides.get(key, "")) for key in self.swept),
                        *(_number(job.metrics.get(m), 4) for m in metrics),
                        _number(job.epochs, 0),
                        _number(job.wall_time_s, 1),
                        job.described_status,
                    ]
                )
            )
        groups = self.seed_groups()
        if groups:
            keys = [key for key in self.swept if key != SEED]
            lines += ["", "## Over seeds: mean ± std (sample), n completed seeds", ""]
            lines += _table([*keys, "n", *metrics, "time (s)"])
            for group in groups:
                failed = len(group.jobs) - group.completed
                count = f"{group.completed}" + (f" (+{failed} not completed)" if failed else "")
                lines.append(
                    _row(
                        [
                            *map(short_number, group.overrides.values()),
                            count,
                            *(_stats(group.values(m), 4) for m in metrics),
                            _stats(group.wall_times(), 1),
                        ]
                    )
                )
        best = self.best
        if self.best_params is not None or best is not None:
            lines += ["", "## Best parameters", ""]
            params = self.best_params
            if params is None and best is not None:
                params = {key: best.overrides.get(key, "") for key in self.swept}
            described = " ".join(f"{key}={value}" for key, value in (params or {}).items())
            source = " (Optuna)" if self.best_params is not None else ""
            lines.append(f"`{described}`{source}" if described else "(nothing was swept)")
            if best is not None:
                lines.append(
                    f"\n{self.metric}={best.value(self.metric):.4f} in job {best.name}: "
                    f"`{best.run_dir}`"
                )
        lines += self._study_lines()
        return "\n".join(lines) + "\n"

    def _study_lines(self) -> list[str]:
        """The Optuna study: its trials by state, the best trial, the parameter importances
        and the dashboard command."""
        study = self.study
        if not study:
            return []
        counts = ", ".join(f"{n} {state}" for state, n in (study.get("trials") or {}).items())
        lines = ["", "## Optuna study", ""]
        line = f"Study `{study.get('study_name')}`" + (f": {counts}" if counts else "")
        if study.get("best_trial") is not None:
            line += f"; best trial {study['best_trial']} (job {study['best_trial']})"
        lines.append(line + ".")
        importances = study.get("importances")
        if importances:
            lines += ["", "Parameter importances (PED-ANOVA, Optuna):", ""]
            lines += _table(["parameter", "importance"])
            lines += [_row([key, f"{value:.3f}"]) for key, value in importances.items()]
        else:
            lines += ["", "Parameter importances: shown once enough trials have completed."]
        if study.get("dashboard"):
            lines += ["", f"Open the study: `{study['dashboard']}` (pip install optuna-dashboard)"]
        return lines

    def _ranked(self) -> list[tuple[int | None, JobResult]]:
        ranked, rank = [], 0
        for job in self.jobs:
            if job.value(self.metric) is not None:
                rank += 1
                ranked.append((rank, job))
            else:
                ranked.append((None, job))
        return ranked


def _plain(value: Any) -> Any:
    return "" if value is None else value


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any, digits: int) -> str:
    number = finite(value)
    return "" if number is None else f"{number:.{digits}f}"


def _stats(values: Sequence[float], digits: int) -> str:
    stats = mean_std(values)
    return "" if stats is None else f"{stats[0]:.{digits}f} ± {stats[1]:.{digits}f}"


def _table(header: list[str]) -> list[str]:
    return [_row(header), _row(["---"] * len(header))]


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"


def sweep_settings(sweep_dir: Path) -> tuple[str | None, Any]:
    """The sweep's optimized metric and the sweeper's direction, from its ``multirun.yaml``."""
    saved = sweep_dir / "multirun.yaml"
    if not saved.is_file():
        return None, None
    config = yaml.safe_load(saved.read_text()) or {}
    sweeper = (config.get("hydra") or {}).get("sweeper") or {}
    return config.get("optimized_metric"), sweeper.get("direction")


def build_leaderboard(
    sweep_dir: Path, metric: str | None = None, direction: str | None = None
) -> Leaderboard:
    """Read a sweep's jobs and sort them.

    Args:
        sweep_dir: the sweep's folder (``hydra.sweep.dir``).
        metric: the metric to sort by; default: the sweep's ``optimized_metric`` (``val/acc``).
        direction: ``maximize`` or ``minimize``; default: the sweeper's, else by the metric.
    """
    saved_metric, saved_direction = sweep_settings(sweep_dir)
    metric = metric or saved_metric or "val/acc"
    direction = metric_direction(metric, direction or saved_direction)
    jobs = find_jobs(sweep_dir)
    keys: list[str] = []
    for job in jobs:
        keys += [key for key in job.overrides if key not in keys]
    swept = [k for k in keys if len({job.overrides.get(k) for job in jobs}) > 1]
    common = {k: jobs[0].overrides[k] for k in keys if k not in swept} if jobs else {}
    sign = -1.0 if direction == "maximize" else 1.0
    status_order = {COMPLETED: 0, PRUNED: 1, FAILED: 2}

    def order(job: JobResult) -> tuple[int, int, float]:
        value = job.value(metric)
        key = 0.0 if value is None else sign * value
        return (value is None, status_order.get(job.status, 3), key)

    study: dict[str, Any] = {}
    results = sweep_dir / OPTUNA_RESULTS
    if results.is_file():
        study = yaml.safe_load(results.read_text()) or {}
    return Leaderboard(
        sweep_dir,
        metric,
        direction,
        sorted(jobs, key=order),
        swept,
        common,
        study.get("best_params"),
        study if "study_name" in study else {},
    )


def write_leaderboard(leaderboard: Leaderboard) -> tuple[Path, Path]:
    """Write ``leaderboard.csv`` and ``leaderboard.md`` into the sweep folder (atomically)."""
    paths = []
    tables = ((CSV_NAME, leaderboard.to_csv()), (MARKDOWN_NAME, leaderboard.to_markdown()))
    for name, text in tables:
        path = leaderboard.sweep_dir / name
        write_text(path, text)
        paths.append(path)
    return paths[0], paths[1]
