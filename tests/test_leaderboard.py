"""The sweep leaderboard, read from job folders on disk: order, best job, failures, seeds."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from lightcnn.core.errors import ConfigError
from lightcnn.launch.job import Job
from lightcnn.leaderboard import rebuild
from lightcnn.rundir.guards import check_run_dir, check_sweep_dir, run_status
from lightcnn.rundir.layout import JOB_NAME_LIMIT, job_dir_name, job_number
from lightcnn.rundir.record import write_failure_record
from lightcnn.sweeps.leaderboard import (
    build_leaderboard,
    metric_direction,
    worst_value,
    write_leaderboard,
)


def write_job(sweep: Path, number: int, overrides: list[str], metrics: dict | None) -> Path:
    """A job folder as Hydra and lightcnn leave it: .hydra/overrides.yaml and metrics.json."""
    job = sweep / str(number)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))
    return job


def completed(val_acc: float, test_acc: float, seconds: float = 10.0) -> dict:
    history = [{"epoch": 1, "val/acc": val_acc}, {"epoch": 2, "val/acc": val_acc}]
    return {
        "status": "completed",
        "val/acc": val_acc,
        "val/loss": 1 - val_acc,
        "test/acc": test_acc,
        "test/loss": 1 - test_acc,
        "history": history,
        "wall_time_s": seconds,
    }


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """pool ∈ {max, avg} × seed ∈ {1, 2}, a failed job and an interrupted one."""
    sweep = tmp_path / "sweep"
    common = ["debug=limit"]
    write_job(sweep, 0, ["model.pool=max", "seed=1", *common], completed(0.98, 0.97, 12))
    write_job(sweep, 1, ["model.pool=max", "seed=2", *common], completed(0.96, 0.95, 14))
    write_job(sweep, 2, ["model.pool=avg", "seed=1", *common], completed(0.99, 0.985))
    write_job(sweep, 3, ["model.pool=avg", "seed=2", *common], completed(0.97, 0.975))
    failed = {"status": "failed", "error": "train/loss became nan at epoch 0", "wall_time_s": 2}
    write_job(sweep, 4, ["model.pool=min", "seed=1", *common], failed)
    write_job(sweep, 10, ["model.pool=min", "seed=2", *common], None)  # interrupted
    (sweep / "multirun.yaml").write_text(yaml.safe_dump({"optimized_metric": "val/acc"}))
    return sweep


def test_rows_are_sorted_with_the_best_marked_and_failures_last(sweep: Path) -> None:
    board = build_leaderboard(sweep)
    assert [job.name for job in board.jobs] == ["2", "0", "3", "1", "4", "10"]
    assert [job.status for job in board.jobs][-2:] == ["failed", "incomplete"]
    assert board.best is not None and board.best.name == "2"
    assert board.swept == ["model.pool", "seed"]
    assert board.common == {"debug": "limit"}

    rows = list(csv.DictReader(io.StringIO(board.to_csv())))
    assert len(rows) == 6
    assert [row["rank"] for row in rows] == ["1", "2", "3", "4", "", ""]
    assert [row["best"] for row in rows] == ["True", *["False"] * 5]
    assert rows[0]["model.pool"] == "avg" and float(rows[0]["val/acc"]) == 0.99
    assert rows[4]["error"] == "train/loss became nan at epoch 0"
    assert rows[0]["epochs"] == "2"

    markdown = board.to_markdown()
    assert "| ★ 1 | 2 | avg | 1 | 0.9900 | 0.9850 | 2 | 10.0 | completed |" in markdown
    assert "failed: train/loss became nan at epoch 0" in markdown
    assert "6 jobs (4 completed, 1 failed, 1 incomplete)" in markdown


def test_jobs_that_differ_only_by_seed_are_aggregated(sweep: Path) -> None:
    board = build_leaderboard(sweep)
    groups = {group.overrides["model.pool"]: group for group in board.seed_groups()}
    assert list(groups) == ["avg", "max", "min"]  # by mean val/acc, the group without any last
    assert groups["max"].values("val/acc") == [0.98, 0.96]
    markdown = board.to_markdown()
    # mean ± sample std over n seeds: max (0.98, 0.96) → 0.9700 ± 0.0141
    assert "| max | 2 | 0.9700 ± 0.0141 | 0.9600 ± 0.0141 | 13.0 ± 1.4 |" in markdown
    assert "| min | 0 (+2 not completed) |  |  |  |" in markdown


def test_no_seed_aggregation_without_a_seed_sweep(tmp_path: Path) -> None:
    write_job(tmp_path, 0, ["model.lr=0.1"], completed(0.5, 0.5))
    write_job(tmp_path, 1, ["model.lr=0.2"], completed(0.6, 0.6))
    board = build_leaderboard(tmp_path)
    assert board.seed_groups() == [] and "over seeds" not in board.to_markdown().lower()


def test_a_loss_is_minimized_and_optuna_best_parameters_are_listed(sweep: Path) -> None:
    (sweep / "optimization_results.yaml").write_text(
        yaml.safe_dump({"name": "optuna", "best_params": {"model.pool": "avg"}, "best_value": 1})
    )
    board = build_leaderboard(sweep, metric="val/loss")
    assert board.direction == "minimize" and board.best.name == "2"  # lowest val/loss
    assert "`model.pool=avg` (Optuna)" in board.to_markdown()
    by_test = build_leaderboard(sweep, metric="test/acc")
    assert [job.name for job in by_test.jobs][:2] == ["2", "3"]


def test_the_sweepers_direction_and_worst_values() -> None:
    assert metric_direction("val/acc") == "maximize"
    assert metric_direction("val/loss") == "minimize"
    assert metric_direction("val/loss", "maximize") == "maximize"
    assert metric_direction("val/acc", ["minimize"]) == "minimize"
    with pytest.raises(ConfigError, match="direction='up' is not allowed"):
        metric_direction("val/acc", "up")
    assert worst_value("maximize") == -math.inf and worst_value("minimize") == math.inf


def test_a_failed_job_returns_the_worst_value_in_a_sweep_only(tmp_path: Path) -> None:
    in_sweep = Job(tmp_path, in_sweep=True, metric="val/acc", direction="maximize", seed=1)
    assert in_sweep.objective({"val/acc": 0.9}) == 0.9
    assert in_sweep.objective({"val/acc": float("nan")}) == -math.inf  # Optuna crashes on NaN
    assert in_sweep.objective({}) == -math.inf  # and on None
    alone = Job(tmp_path, in_sweep=False, metric="val/acc", direction="maximize", seed=1)
    assert alone.objective({}) is None


def test_a_failure_record_protects_its_directory(tmp_path: Path) -> None:
    write_failure_record(tmp_path, ValueError("bad\nthing"), seed=3, wall_time_s=1.234)
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == "failed" and record["error"] == "bad thing"
    assert record["error_type"] == "ValueError" and record["seed"] == 3
    assert record["wall_time_s"] == 1.23 and record["last_checkpoint"] is None
    assert run_status(tmp_path) == "failed"
    with pytest.raises(ConfigError, match=r"already holds a finished run \(metrics.json: failed\)"):
        check_run_dir(tmp_path, resuming=False)


def test_a_sweep_folder_with_finished_jobs_is_refused(sweep: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"already holds a sweep whose jobs finished \(0, 1, 2"):
        check_sweep_dir(sweep)
    check_sweep_dir(tmp_path / "new")  # nothing there yet


def test_the_rebuild_command_writes_both_files(sweep: Path) -> None:
    cfg = OmegaConf.create({"sweep_dir": str(sweep), "metric": None, "direction": None})
    markdown = rebuild(cfg)
    assert (sweep / "leaderboard.md").read_text() == markdown
    assert len(list(csv.DictReader((sweep / "leaderboard.csv").open()))) == 6
    assert not list(sweep.glob("*.partial"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"sweep_dir": "???"}, "sweep_dir is missing"),
        ({"sweep_dir": "/no/such/sweep"}, "sweep_dir=/no/such/sweep: no such folder"),
        ({"metric": "val/accuracy"}, "metric='val/accuracy' is not allowed: it must be one of"),
        ({"direction": "upward"}, "direction='upward' is not allowed"),
    ],
)
def test_the_rebuild_command_names_bad_input(sweep: Path, values: dict, message: str) -> None:
    cfg = OmegaConf.create({"sweep_dir": str(sweep), "metric": None, "direction": None, **values})
    with pytest.raises(ConfigError, match=message):
        rebuild(cfg)


def test_a_folder_without_jobs_is_named(tmp_path: Path) -> None:
    cfg = OmegaConf.create({"sweep_dir": str(tmp_path), "metric": None, "direction": None})
    with pytest.raises(ConfigError, match="no job folders in it"):
        rebuild(cfg)


def test_files_are_replaced_atomically(sweep: Path) -> None:
    board = build_leaderboard(sweep)
    csv_path, md_path = write_leaderboard(board)
    assert csv_path.read_text() == board.to_csv() and md_path.read_text() == board.to_markdown()


def test_job_folders_are_named_by_number_and_swept_values_and_keyed_by_number() -> None:
    overrides = ["model.pool=max", "seed=1", "trainer.max_epochs=2"]
    assert job_dir_name(0, overrides, {"model.pool", "seed"}) == "0_model.pool-max_seed-1"
    assert job_dir_name(3, overrides, None) == "3_model.pool-max_seed-1_trainer.max_epochs-2"
    assert job_dir_name(4, overrides, set()) == "4"
    # sampled floats shortened, unsafe characters replaced, the length bounded
    assert job_dir_name(5, ["model.lr=0.0010134344267417026"], None) == "5_model.lr-0.001013"
    assert job_dir_name(6, ["data.root='/a b/c'"], None) == "6_data.root--a-b-c"
    many = [f"model.option_{i}.value=v{i}" for i in range(10)]
    name = job_dir_name(7, many, None)
    assert len(name) <= JOB_NAME_LIMIT and name.startswith("7_model.option_0.value-v0")
    assert job_number(name) == 7 and job_number("7") == 7 and job_number("notes") is None
    # a job's folder goes back into overrides (resume=, ckpt_path=, DDP's hydra.run.dir=)
    parser = OverridesParser.create()
    for folder in ("0_model.pool-max_seed-1", job_dir_name(8, ["model.lr=1e-05"], None)):
        assert parser.parse_override(f"resume=/sweep/{folder}").value() == f"/sweep/{folder}"


def test_a_pruned_trial_and_the_optuna_study_are_on_the_leaderboard(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    (sweep / "0_model.lr-0.01" / ".hydra").mkdir(parents=True)
    write_job(sweep, 1, ["model.lr=0.01"], completed(0.9, 0.9)).rename(sweep / "1_model.lr-0.01")
    pruned = {
        "status": "pruned",
        "pruned": {"epoch": 2, "metric": "val/acc", "value": 0.31},
        "history": [{"epoch": 1, "val/acc": 0.2}, {"epoch": 2, "val/acc": 0.31}],
    }
    write_job(sweep, 10, ["model.lr=1e-9"], pruned).rename(sweep / "10_model.lr-1e-09")
    results = {
        "name": "optuna",
        "study_name": "lenet5_mnist",
        "dashboard": "optuna-dashboard sqlite:////x/optuna.db",
        "trials": {"complete": 1, "pruned": 1},
        "best_trial": 1,
        "best_params": {"model.lr": 0.01},
        "importances": {"model.lr": 1.0},
    }
    (sweep / "optimization_results.yaml").write_text(yaml.safe_dump(results))
    board = build_leaderboard(sweep)
    assert [(job.name, job.status) for job in board.jobs] == [
        ("1", "completed"),
        ("10", "pruned"),
        ("0", "incomplete"),
    ]
    markdown = board.to_markdown()
    assert "| 10 | 1e-9 |  |  | 2 |  | pruned after epoch 2 (val/acc=0.3100) |" in markdown
    assert "Study `lenet5_mnist`: 1 complete, 1 pruned; best trial 1 (job 1)." in markdown
    assert "| model.lr | 1.000 |" in markdown
    assert "`optuna-dashboard sqlite:////x/optuna.db`" in markdown
    assert check_sweep_dir(sweep, continues_study=True) is None  # the study goes on there
    with pytest.raises(ConfigError, match=r"jobs finished \(1, 10\)"):
        check_sweep_dir(sweep)
