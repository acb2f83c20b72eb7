"""lightcnn's Optuna sweeper: ``hydra/sweeper=optuna`` (``conf/hydra/sweeper/optuna.yaml``).

A Hydra plugin on Hydra's public ``Sweeper`` API, running Optuna 4+ with pruning and a stored
study; the search itself is :mod:`lightcnn.sweeps.optuna_search`. Hydra imports every module of
``hydra_plugins`` when it starts, so this one imports neither Optuna nor lightcnn's search
until a sweep runs. Why lightcnn has its own sweeper: docs/sweeps.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """Hydra's sweeper interface over :class:`lightcnn.sweeps.optuna_search.OptunaSearch`.

    Args:
        sampler: the sampler's config (``hydra/sweeper/sampler``).
        pruner: the pruner's config (``hydra/sweeper/pruner``).
        direction: ``maximize`` or ``minimize`` (null: by the optimized metric's name).
        study_name: the study's name (null: the sweep folder's).
        storage: a storage URL or journal file (null: ``optuna.db`` in the sweep folder).
        n_trials: trials this command adds to the study.
        n_jobs: trials launched at a time.
        params: the search space (key → Hydra sweep expression).
        trial: set by the sweeper on each job's config (its trial's number); null here.
    """

    def __init__(
        self,
        sampler: Any,
        pruner: Any,
        direction: str | None = None,
        study_name: str | None = None,
        storage: str | None = None,
        n_trials: int = 20,
        n_jobs: int = 1,
        params: Mapping[str, Any] | None = None,
        trial: int | None = None,
    ) -> None:
        from lightcnn.sweeps.optuna_search import SearchSettings

        self.settings = SearchSettings(
            sampler, pruner, direction, study_name, storage, n_trials, n_jobs, params
        )
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> None:
        from lightcnn.launch.hydra_callbacks import refused_in_one_line
        from lightcnn.sweeps.optuna_search import OptunaSearch

        assert self.config is not None and self.launcher is not None, "setup() comes first"
        search = OptunaSearch(self.settings, self.config, self.launcher)
        with refused_in_one_line(search.discard_if_unused):  # a bad search: one line, exit 2
            search.run(arguments)
