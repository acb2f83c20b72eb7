"""Sweeps through the CLI: the leaderboard, failed jobs, seeds, Optuna, joblib, submitit."""

from __future__ import annotations

import csv
import json
import os
import statistics
from pathlib import Path

import joblib
import pytest
import yaml

from conftest import run_cli

pytestmark = pytest.mark.slow

# a complete but tiny job: two batches of training, one of validation and test
TINY = (
    "debug=limit",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "data.val_size=100",
)


def sweep(tmp_path: Path, mnist_root: Path, *args: str):
    return run_cli(
        "-m",
        *TINY,
        f"paths.data_dir={mnist_root}",
        f"paths.log_dir={tmp_path / 'logs'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        *args,
        cwd=tmp_path,
    )


def job_dir(sweep_dir: Path, number: int) -> Path:
    """The folder of job ``number`` (its name goes on with the swept values)."""
    (folder,) = (p for p in sweep_dir.iterdir() if p.name.split("_")[0] == str(number))
    return folder


def rows(sweep_dir: Path) -> list[dict[str, str]]:
    with (sweep_dir / "leaderboard.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_a_failed_job_keeps_its_row_and_the_sweep_going(tmp_path: Path, mnist_root: Path):
    result = sweep(tmp_path, mnist_root, "model.pool=max,bogus")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    sweep_dir = tmp_path / "sweep"
    # the folders say what each job tried; the leaderboard keys them by number
    folders = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir())
    assert folders == ["0_model.pool-max", "1_model.pool-bogus"]
    table = rows(sweep_dir)
    assert [(r["job"], r["status"], r["best"], r["model.pool"]) for r in table] == [
        ("0", "completed", "True", "max"),
        ("1", "failed", "False", "bogus"),
    ]
    assert 0 <= float(table[0]["val/acc"]) <= 1
    assert "model.pool='bogus' is not a LeNet-5 pooling" in table[1]["error"]
    record = json.loads((job_dir(sweep_dir, 1) / "metrics.json").read_text())
    assert record["status"] == "failed" and record["error_type"] == "ConfigError"
    assert "| ★ 1 | 0 | max |" in result.stdout  # the table, printed at the end
    assert output.count("Job 1 failed (the sweep goes on)") == 1
    assert "Traceback" not in output
    assert not (tmp_path / "logs").exists()  # no run folder anywhere else

    # an old or interrupted sweep: the command writes the same tables again
    expected = (sweep_dir / "leaderboard.csv").read_text()
    (sweep_dir / "leaderboard.csv").unlink()
    rebuilt = run_cli(f"sweep_dir={sweep_dir}", module="lightcnn.leaderboard", cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert (sweep_dir / "leaderboard.csv").read_text() == expected
    assert "# Leaderboard: sweep" in rebuilt.stdout

    # the same folder again: refused before anything runs, the record kept
    again = sweep(tmp_path, mnist_root, "model.pool=avg")
    assert again.returncode == 2
    assert "already holds a sweep whose jobs finished (0, 1)" in again.stderr
    assert json.loads((job_dir(sweep_dir, 0) / "metrics.json").read_text())["job"] == 0


def test_parallel_seed_sweep_shows_mean_and_std(tmp_path: Path, mnist_root: Path):
    """joblib with two workers; jobs that differ only by seed are aggregated."""
    result = sweep(
        tmp_path,
        mnist_root,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "model.pool=max,avg",
        "seed=1,2",
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    sweep_dir = tmp_path / "sweep"
    assert len(rows(sweep_dir)) == 4
    # each joblib worker named its job folder by the swept keys only (not the fixed overrides)
    folders = {p.name for p in sweep_dir.iterdir() if p.is_dir()}
    assert folders == {
        f"{n}_model.pool-{pool}_seed-{seed}"
        for n, (pool, seed) in enumerate([("max", 1), ("max", 2), ("avg", 1), ("avg", 2)])
    }
    assert all(row["status"] == "completed" for row in rows(sweep_dir))
    markdown = (sweep_dir / "leaderboard.md").read_text()
    for pool in ("max", "avg"):
        jobs = [r for r in rows(sweep_dir) if r["model.pool"] == pool]
        values = [float(r["val/acc"]) for r in jobs]
        cell = f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"
        assert f"| {pool} | 2 | {cell} |" in markdown
    # each worker's torch uses its share of the cores (joblib sets OMP_NUM_THREADS)
    if "OMP_NUM_THREADS" not in os.environ:
        threads = max(1, joblib.cpu_count() // 2)
        for job in range(4):
            log = (job_dir(sweep_dir, job) / "train.log").read_text()
            assert f"Parallel job {job} on CPU with {threads} torch thread(s)" in log


def test_optuna_goes_on_past_a_diverging_trial(tmp_path: Path, mnist_root: Path):
    """One trial diverges (NaN): it is recorded as failed (FAIL in the study, which Optuna's
    samplers skip), and the search ends normally with its best parameters."""
    result = sweep(
        tmp_path,
        mnist_root,
        "hydra/sweeper=optuna",
        "hydra/sweeper/sampler=grid",
        "hydra.sweeper.direction=maximize",
        "model.lr=choice(0.003,0.01,1e12)",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    sweep_dir = tmp_path / "sweep"
    table = {row["model.lr"]: row for row in rows(sweep_dir)}
    assert set(table) == {"0.003", "0.01", "1000000000000.0"}
    diverged = table["1000000000000.0"]
    assert diverged["status"] == "failed" and "train/loss became nan" in diverged["error"]
    assert {table["0.003"]["status"], table["0.01"]["status"]} == {"completed"}
    best = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert best["best_params"]["model.lr"] in (0.003, 0.01)
    assert "(Optuna)" in (sweep_dir / "leaderboard.md").read_text()
    assert best["trials"] == {"complete": 2, "fail": 1}
    for crash in ("Values were told", "No trials are completed yet", "Traceback"):
        assert crash not in output


def test_submitit_local_runs_a_job(tmp_path: Path, mnist_root: Path):
    result = sweep(tmp_path, mnist_root, "hydra/launcher=submitit_local")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    sweep_dir = tmp_path / "sweep"
    assert [row["status"] for row in rows(sweep_dir)] == ["completed"]
    assert (sweep_dir / "0" / "checkpoints" / "last.ckpt").is_file()  # nothing swept: "0"
    assert list((sweep_dir / ".submitit").glob("*/*_0_log.out"))  # ran as a submitit job
