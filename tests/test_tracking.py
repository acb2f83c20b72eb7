"""MLflow tracking (``logger=mlflow``): a run and a sweep, read back with MLflow's own client
from the local store, offline."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mlflow
import pytest

from conftest import run_cli
from lightcnn.core.errors import ConfigError
from lightcnn.launch import tracking
from lightcnn.launch.hparams import hparams_for_logging

TINY = (
    "debug=limit",
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "data.val_size=100",
)


def test_logger_mlflow_without_mlflow_says_what_to_install(monkeypatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "mlflow" else real(name)
    )
    with pytest.raises(ConfigError, match=r"pip install 'lightcnn\[tracking\]'"):
        tracking.MLflowLogger("train", str(tmp_path / "run"), str(tmp_path / "mlflow"))
    assert not (tmp_path / "mlflow").exists()


def test_the_mlflow_logger_is_in_logger_many(make_cfg) -> None:
    cfg = make_cfg("logger=many")
    assert set(cfg.logger) == {"tensorboard", "csv", "mlflow"}
    assert cfg.logger.mlflow.experiment_name == "train"  # a single run: the task's experiment


def store_uri(log_dir: Path) -> str:
    return f"sqlite:///{log_dir / 'mlflow' / 'mlflow.db'}"


def search_runs(log_dir: Path, experiment: str, monkeypatch) -> list:
    """``mlflow.search_runs`` of one experiment of the local store."""
    with monkeypatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", store_uri(log_dir))
        return mlflow.search_runs(experiment_names=[experiment], output_format="list")


@pytest.mark.slow
def test_a_run_and_a_sweep_are_read_back_from_the_local_store(
    tmp_path: Path, mnist_root: Path, make_cfg, monkeypatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    log_dir = tmp_path / "logs"
    common = ("logger=mlflow", *TINY, f"paths.data_dir={mnist_root}", f"paths.log_dir={log_dir}")
    single = run_cli(*common, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert single.returncode == 0, (single.stdout + single.stderr)[-3000:]
    for noise in ("Creating initial MLflow database", "Experiment with name", "Traceback"):
        assert noise not in single.stdout + single.stderr

    client = mlflow.MlflowClient(store_uri(log_dir))
    (run,) = search_runs(log_dir, "train", monkeypatch)
    # params: the same flat choices as TensorBoard's HPARAMS
    cfg = make_cfg(*TINY)
    expected = {key: str(value) for key, value in hparams_for_logging(cfg).items()}
    assert run.data.params == expected
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    assert run.data.tags["lightcnn.status"] == "completed"
    # per-epoch metrics (and the validation of the best checkpoint), the final test metrics
    epochs = client.get_metric_history(run.info.run_id, "train/acc")
    assert len(epochs) == 2
    assert 0.0 <= run.data.metrics["test/acc"] <= 1.0
    assert {"val/best_acc", "wall_time_s", "test/loss"} <= set(run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"metrics.json", "report"}
    report = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert {"report/report.md", "report/confusion_matrix.png"} <= report

    sweep_dir = tmp_path / "sweep-pools"
    sweep = run_cli(
        "-m", *common, "model.pool=max,avg", f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path
    )
    assert sweep.returncode == 0, (sweep.stdout + sweep.stderr)[-3000:]
    runs = search_runs(log_dir, "sweep-pools", monkeypatch)
    assert sorted(r.info.run_name for r in runs) == ["0_model.pool-max", "1_model.pool-avg"]
    assert sorted(r.data.params["pool"] for r in runs) == ["avg", "max"]
