"""An Optuna search through Hydra: trials asked from a stored study, run by Hydra's launcher as
sweep jobs, told back with how each job ended.

The search space is Hydra's sweep syntax (``hydra.sweeper.params`` and the command line):
``choice(a, b)`` → a categorical, ``interval(lo, hi)`` → a float or int (``tag(log, ...)``: on
a log scale), ``range(lo, hi, step)`` → stepped ints; other overrides go to every trial. Each
trial's job gets ``hydra.sweeper.trial=<number>``: it reports to its own trial after every
validation (``lightcnn.callbacks.OptunaPruning``), and its folder takes the trial's number, so
several workers on one study and one sweep folder never share a folder.

How a job ended is read from its run directory, as the leaderboard does: ``completed`` with a
finite value → COMPLETE, ``pruned`` → PRUNED (with its last reported value), anything else
(``failed``, a NaN, a job that raised) → FAIL, which Optuna's samplers skip. No result ever
crashes the study. ``optimization_results.yaml`` (the best trial, parameter importances, the
dashboard command) is written after every batch, so a stopped search leaves it too.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, Transformer
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import InstantiationException
from hydra.plugins.launcher import Launcher
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from lightcnn.core.errors import ConfigError
from lightcnn.core.io import write_text
from lightcnn.rundir.guards import run_status
from lightcnn.rundir.layout import COMPLETED, METRICS, PRUNED
from lightcnn.sweeps.leaderboard import OPTUNA_RESULTS, finite, metric_direction
from lightcnn.sweeps.study import (
    dashboard_command,
    open_storage,
    redact,
    require_optuna,
    storage_location,
    study_name,
)

log = logging.getLogger("lightcnn")

#: complete trials before the leaderboard shows parameter importances (PED-ANOVA compares the
#: best tenth of the trials with the rest: fewer trials say nothing)
MIN_TRIALS_FOR_IMPORTANCE = 8


@dataclass
class SearchSpace:
    """What each trial samples, and the overrides every trial gets.

    Args:
        distributions: Optuna distributions by config key.
        fixed: plain overrides (``trainer.max_epochs=2``) appended to every trial's.
    """

    distributions: dict[str, Any] = field(default_factory=dict)
    fixed: list[str] = field(default_factory=list)


def search_space(params: Mapping[str, Any] | None, arguments: Sequence[str]) -> SearchSpace:
    """The search space of ``hydra.sweeper.params`` and the command line (which wins).

    Args:
        params: ``hydra.sweeper.params`` (key → Hydra sweep expression).
        arguments: the command line's overrides.
    """
    lines = [f"{key}={value}" for key, value in (params or {}).items()] + list(arguments)
    space = SearchSpace()
    fixed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        if override.is_sweep_override():
            space.distributions[key] = distribution(override)
            fixed.pop(key, None)
        else:
            space.distributions.pop(key, None)
            fixed[key] = str(override.input_line)
    space.fixed = list(fixed.values())
    if not space.distributions:
        raise ConfigError(
            "the Optuna search has nothing to search: give hydra.sweeper.params or a sweep "
            "override such as model.lr=tag(log,interval(1e-4,1e-1)) or model.pool=choice(max,avg)"
        )
    return space


def distribution(override: Override) -> Any:
    """The Optuna distribution of one sweep override."""
    optuna = require_optuna()
    value = override.value()
    if override.is_interval_sweep():
        log_scale = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return optuna.distributions.IntDistribution(value.start, value.end, log=log_scale)
        return optuna.distributions.FloatDistribution(value.start, value.end, log=log_scale)
    if override.is_range_sweep():
        values = list(override.sweep_iterator())
        if len(values) > 1 and all(isinstance(v, int) for v in values):
            step = abs(values[1] - values[0])
            return optuna.distributions.IntDistribution(min(values), max(values), step=step)
        return optuna.distributions.CategoricalDistribution(values)
    if override.is_choice_sweep():
        choices = list(override.sweep_iterator(transformer=Transformer.encode))
        return optuna.distributions.CategoricalDistribution(choices)
    raise ConfigError(f"{override.input_line}: the Optuna search takes choice, range or interval")


@dataclass
class SearchSettings:
    """``hydra.sweeper``'s settings.

    Args:
        sampler: the sampler's config (``_target_``; a grid sampler is ``_partial_``).
        pruner: the pruner's config.
        direction: ``maximize`` or ``minimize`` (null: by the optimized metric's name).
        study_name: the study's name (null: the sweep folder's).
        storage: a storage URL or journal file (null: ``optuna.db`` in the sweep folder).
        n_trials: trials this command adds to the study.
        n_jobs: trials launched at a time (in parallel with a parallel launcher).
        params: the search space (key → Hydra sweep expression).
    """

    sampler: Any
    pruner: Any
    direction: str | None
    study_name: str | None
    storage: str | None
    n_trials: int
    n_jobs: int
    params: Mapping[str, Any] | None


class OptunaSearch:
    """One run of the sweeper: adds ``n_trials`` trials to the study, ``n_jobs`` at a time.

    Args:
        settings: the sweeper's settings.
        config: the launching process's config.
        launcher: Hydra's launcher, which runs each batch of jobs.
    """

    def __init__(self, settings: SearchSettings, config: DictConfig, launcher: Launcher) -> None:
        self.settings = settings
        self.config = config
        self.launcher = launcher
        self.sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        self.metric = str(config.get("optimized_metric") or "val/acc")
        self.direction = metric_direction(self.metric, settings.direction)
        self.location = storage_location(settings.storage, self.sweep_dir)
        self.name = study_name(settings.study_name, self.sweep_dir)

    def run(self, arguments: Sequence[str]) -> None:
        """Ask, launch and tell until ``n_trials`` trials ran; write the results."""
        optuna = require_optuna()
        space = search_space(self.settings.params, arguments)
        sampler = self.sampler(space)
        pruner = build_option("pruner", self.settings.pruner)
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        study = optuna.create_study(
            study_name=self.name,
            storage=open_storage(self.location),
            sampler=sampler,
            pruner=pruner,
            direction=self.direction,
            load_if_exists=True,
        )
        self.save_config()
        todo = self.settings.n_trials
        is_grid = isinstance(sampler, optuna.samplers.GridSampler)
        if is_grid:  # each point once: a grid sampler past its grid samples points again
            todo = min(todo, math.prod(len(grid(d)) for d in space.distributions.values()))
            if sampler.is_exhausted(study):
                log.info("Study %s: every point of the grid has a trial; none to add", self.name)
                todo = 0
        earlier = len(study.trials)
        log.info(
            "Study %s in %s: %s, %d more trial%s%s",
            self.name,
            redact(self.location),
            f"{earlier} trial{'' if earlier == 1 else 's'} so far" if earlier else "new",
            todo,
            "" if todo == 1 else "s",
            f", {self.settings.n_jobs} at a time" if self.settings.n_jobs > 1 else "",
        )
        while todo > 0 and not (is_grid and sampler.is_exhausted(study)):
            batch = min(self.settings.n_jobs, todo)
            trials = [study.ask(space.distributions) for _ in range(batch)]
            try:
                returns = self.launcher.launch(
                    [job_overrides(trial, space) for trial in trials],
                    initial_job_idx=trials[0].number,
                )
            except BaseException:  # Ctrl-C, a killed worker: no trial left running forever
                for trial in trials:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                raise
            for trial, job in zip(trials, returns, strict=True):
                self.tell(study, trial, job)
            todo -= batch
            write_results(study, self.sweep_dir, self.location)

    def discard_if_unused(self) -> None:
        """Remove the sweep folder when a refused search left it empty."""
        if self.sweep_dir.is_dir() and not any(self.sweep_dir.iterdir()):
            self.sweep_dir.rmdir()

    def sampler(self, space: SearchSpace) -> Any:
        """The configured sampler; a grid sampler gets the grid of the search space."""
        sampler = build_option("sampler", self.settings.sampler)
        if isinstance(sampler, functools.partial):  # the grid sampler, waiting for its grid
            sampler = sampler(search_space={k: grid(d, k) for k, d in space.distributions.items()})
        return sampler

    def save_config(self) -> None:
        """``multirun.yaml``: the sweep's config, written by the command that started the study
        (a continuation or a second worker keeps it)."""
        path = self.sweep_dir / "multirun.yaml"
        if not path.exists():
            write_text(path, OmegaConf.to_yaml(self.config))

    def tell(self, study: Any, trial: Any, job: JobReturn) -> None:
        """Tell the study how the trial's job ended, and say it in one line."""
        optuna = require_optuna()
        state, value, summary = outcome(job, self.metric)
        try:
            study.tell(trial, value, state=state)
        except RuntimeError:
            # a grid sampler calls study.stop() after the grid's last trial (told already),
            # which Optuna allows only inside study.optimize
            grid = isinstance(study.sampler, optuna.samplers.GridSampler)
            if not (grid and study.sampler.is_exhausted(study)):
                raise
        log.info("Trial %d %s", trial.number, summary)


def build_option(name: str, node: Any) -> Any:
    """``hydra.sweeper.<name>`` (a sampler or a pruner) built, or one clear error."""
    try:
        return instantiate(node)
    except InstantiationException as error:
        reason = " ".join(str(error.__cause__ or error).split())
        raise ConfigError(
            f"hydra.sweeper.{name} cannot be built ({reason}); choose a preset "
            f"(hydra/sweeper/{name}=...) or an Optuna {name} by its _target_"
        ) from None


def job_overrides(trial: Any, space: SearchSpace) -> list[str]:
    """A trial's job: its sampled values, the fixed overrides, and its trial number."""
    sampled = [f"{key}={value}" for key, value in trial.params.items()]
    return [*sampled, *space.fixed, f"hydra.sweeper.trial={trial.number}"]


def outcome(job: JobReturn, metric: str) -> tuple[Any, float | None, str]:
    """A job's trial state, its value and a short summary, from its run directory's record."""
    optuna = require_optuna()
    states = optuna.trial.TrialState
    if job.status != JobStatus.COMPLETED:  # the task raised (lightcnn's jobs record failures)
        try:
            job.return_value  # noqa: B018 (a failed JobReturn raises the job's exception)
        except Exception as error:
            return states.FAIL, None, f"failed: {error}"
    run_dir = Path(str(job.hydra_cfg.hydra.runtime.output_dir))
    status = run_status(run_dir)
    if status == PRUNED:
        pruned = json.loads((run_dir / METRICS).read_text()).get(PRUNED) or {}
        return states.PRUNED, None, f"pruned after epoch {pruned.get('epoch', '?')}"
    value = finite(job.return_value)
    if status == COMPLETED and value is not None:
        return states.COMPLETE, value, f"{metric}={value:.4f}"
    return states.FAIL, None, f"{status or 'failed'}: recorded in {run_dir / METRICS}"


def grid(distribution: Any, key: str = "a key") -> list[Any]:
    """The points of a distribution a grid sampler can enumerate.

    Args:
        distribution: an Optuna distribution of the search space.
        key: its config key, for the message.
    """
    optuna = require_optuna()
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return list(distribution.choices)
    if isinstance(distribution, optuna.distributions.IntDistribution) and not distribution.log:
        return list(range(distribution.low, distribution.high + 1, distribution.step))
    raise ConfigError(
        f"{key}: the grid sampler takes choice(...) or range(...), not an interval; use "
        "hydra/sweeper/sampler=tpe or random for an interval"
    )


def write_results(study: Any, sweep_dir: Path, location: str) -> None:
    """``optimization_results.yaml``: the best trial, the trials by state, the parameter
    importances (once enough trials completed) and how to open the study in the dashboard."""
    optuna = require_optuna()
    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.state.name.lower()] = counts.get(trial.state.name.lower(), 0) + 1
    results: dict[str, Any] = {
        "name": "optuna",
        "study_name": study.study_name,
        "storage": redact(location),
        "dashboard": dashboard_command(location),
        "direction": study.direction.name.lower(),
        "trials": counts,
    }
    complete = [t for t in trials if t.state == states.COMPLETE]
    if complete:
        best = study.best_trial
        results |= {"best_trial": best.number, "best_value": best.value, "best_params": best.params}
    importances = parameter_importances(study, len(complete))
    if importances:
        results["importances"] = importances
    write_text(sweep_dir / OPTUNA_RESULTS, yaml.safe_dump(results, sort_keys=False))


def parameter_importances(study: Any, complete: int) -> dict[str, float] | None:
    """PED-ANOVA importances of the swept parameters (Optuna's, with no scikit-learn), or None
    with fewer than :data:`MIN_TRIALS_FOR_IMPORTANCE` complete trials."""
    if complete < MIN_TRIALS_FOR_IMPORTANCE:
        return None
    optuna = require_optuna()
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    return {key: round(float(v), 4) for key, v in importances.items() if math.isfinite(v)}
