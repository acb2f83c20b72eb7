"""MLflow tracking (``logger=mlflow``): Lightning's ``MLFlowLogger``, with the run's record.

A run in MLflow holds the same flat choices as TensorBoard's HPARAMS (``launch/hparams.py``)
as its params, the per-epoch metrics Lightning logs, the final test metrics, and the run's
``report/`` and ``metrics.json`` as artifacts. The store is local by default: an SQLite file
and an artifact folder under ``logs/mlflow/`` (``mlflow ui --backend-store-uri
sqlite:///logs/mlflow/mlflow.db``); ``MLFLOW_TRACKING_URI`` names another (a server). Every job
of a sweep lands in one experiment named after the sweep folder, each run named after its run
directory. MLflow itself is imported by Lightning's logger when the run starts.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger, MLFlowLogger
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig
from typing_extensions import override

from lightcnn.core.errors import ConfigError
from lightcnn.launch.hparams import final_metrics, hparams_for_logging
from lightcnn.rundir.layout import COMPLETED, METRICS, PRUNED, REPORT_DIR

#: MLflow's end states of a run, by the run's status (a pruned trial was stopped: KILLED)
RUN_STATES = {COMPLETED: "FINISHED", PRUNED: "KILLED"}


class MLflowLogger(MLFlowLogger):
    """Lightning's MLflow logger on lightcnn's local store, with the run's choices as params.

    Args:
        experiment_name: the experiment (a sweep's folder name, else ``train``).
        run_dir: the run directory: the run's name in MLflow and its ``lightcnn.run_dir`` tag.
        store: the local store's folder (``mlflow.db``, ``artifacts/``), used unless
            ``MLFLOW_TRACKING_URI`` is set.
        **kwargs: more ``MLFlowLogger`` options (``log_model``, ``tags``, ...).
    """

    def __init__(self, experiment_name: str, run_dir: str, store: str, **kwargs: Any) -> None:
        if importlib.util.find_spec("mlflow") is None:
            raise ConfigError(
                "logger=mlflow needs MLflow: install the tracking extra "
                "(pip install 'lightcnn[tracking]', or make install)"
            )
        # MLflow's own INFO lines (creating the store's tables) say nothing about the run
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            folder = Path(store).expanduser().resolve()
            folder.mkdir(parents=True, exist_ok=True)
            uri = f"sqlite:///{folder / 'mlflow.db'}"
            kwargs.setdefault("artifact_location", (folder / "artifacts").as_uri())
        tags = {"lightcnn.run_dir": str(run_dir), **(kwargs.pop("tags", None) or {})}
        super().__init__(
            experiment_name=experiment_name,
            run_name=Path(run_dir).name,
            tracking_uri=uri,
            tags=tags,
            **kwargs,
        )

    @override
    def log_hyperparams(self, params: Any) -> None:
        """Lightning's call with the module's and the data's hyperparameters, which is not
        logged: the run's params are its flat choices (:meth:`log_choices`), the columns
        TensorBoard's HPARAMS compares (MLflow refuses a param logged twice with two values)."""

    @rank_zero_only
    def log_choices(self, choices: Mapping[str, Any]) -> None:
        """Log the run's flat choices as its params."""
        super().log_hyperparams(dict(choices))

    @rank_zero_only
    def log_record(self, metrics: Mapping[str, Any], run_dir: Path) -> None:
        """The run's end: its final metrics, ``report/`` and ``metrics.json`` as artifacts,
        and its end state (a pruned trial's is KILLED, with its ``lightcnn.status``)."""
        status = str(metrics.get("status", COMPLETED))
        # the test's metrics came with the test; these two exist only now
        finals = {k: v for k, v in final_metrics(metrics).items() if not k.startswith("test/")}
        if finals:
            self.log_metrics(finals)
        client = self.experiment
        if (run_dir / REPORT_DIR).is_dir():
            client.log_artifacts(self.run_id, str(run_dir / REPORT_DIR), REPORT_DIR)
        if (run_dir / METRICS).is_file():
            client.log_artifact(self.run_id, str(run_dir / METRICS))
        client.set_tag(self.run_id, "lightcnn.status", status)
        self.finalize(RUN_STATES.get(status, "FINISHED"))


def log_choices(loggers: list[Logger], cfg: DictConfig) -> None:
    """Give each MLflow logger the run's choices, before training.

    Args:
        loggers: the run's loggers.
        cfg: the composed ``train`` config.
    """
    trackers = [logger for logger in loggers if isinstance(logger, MLflowLogger)]
    if trackers:
        choices = hparams_for_logging(cfg)
        for logger in trackers:
            logger.log_choices(choices)


def log_record(loggers: list[Logger], metrics: Mapping[str, Any], run_dir: Path) -> None:
    """Close each MLflow run with the run's record (:meth:`MLflowLogger.log_record`).

    Args:
        loggers: the run's loggers.
        metrics: the run's ``metrics.json`` payload.
        run_dir: the run directory.
    """
    for logger in loggers:
        if isinstance(logger, MLflowLogger):
            logger.log_record(metrics, run_dir)
