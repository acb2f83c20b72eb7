"""lightcnn's Optuna sweeper: the search space, pruning, a stored study continued by the same
command, and two workers sharing one study."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import optuna
import pytest
import torch
import yaml

import lightcnn
from conftest import run_cli
from lightcnn.callbacks import OptunaPruning
from lightcnn.core.errors import ConfigError
from lightcnn.sweeps.leaderboard import build_leaderboard
from lightcnn.sweeps.optuna_search import grid, search_space
from lightcnn.sweeps.study import dashboard_command, open_storage, redact, storage_location

TINY = (
    "debug=limit",
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "data.val_size=100",
)


def test_the_search_space_comes_from_params_and_the_command_line() -> None:
    space = search_space(
        {"model.lr": "tag(log, interval(1e-4, 1e-1))", "model.pool": "choice(max, avg)"},
        ["data.batch_size=range(32,129,32)", "model.pool=min", "trainer.max_epochs=2"],
    )
    assert space.distributions == {
        "model.lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
        "data.batch_size": optuna.distributions.IntDistribution(32, 128, step=32),
    }
    # a plain value on the command line fixes a key for every trial, params included
    assert space.fixed == ["model.pool=min", "trainer.max_epochs=2"]
    assert grid(space.distributions["data.batch_size"]) == [32, 64, 96, 128]
    with pytest.raises(ConfigError, match=r"model.lr: the grid sampler takes choice"):
        grid(space.distributions["model.lr"], "model.lr")
    with pytest.raises(ConfigError, match="nothing to search"):
        search_space(None, ["model.pool=max"])


def test_the_study_is_stored_in_the_sweep_folder_unless_told(tmp_path: Path) -> None:
    assert storage_location(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/optuna.db"
    url = "postgresql://me:secret@db.example/optuna"
    assert storage_location(url, tmp_path) == url
    assert redact(url) == "postgresql://me:***@db.example/optuna"
    assert dashboard_command(url) == "optuna-dashboard postgresql://me:***@db.example/optuna"


def test_the_pruning_callback_reports_each_validation_and_stops_when_pruned() -> None:
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.5)
    )
    trial = study.ask()
    callback = OptunaPruning(trial, "val/acc")
    trainer = SimpleNamespace(
        sanity_checking=False,
        is_global_zero=True,
        world_size=1,
        current_epoch=0,
        should_stop=False,
        callback_metrics={"val/acc": torch.tensor(0.8)},
    )
    callback.on_validation_end(trainer, None)
    assert not trainer.should_stop and callback.pruned is None
    trainer.current_epoch, trainer.callback_metrics = 1, {"val/acc": torch.tensor(0.25)}
    callback.on_validation_end(trainer, None)
    assert trainer.should_stop
    assert callback.pruned == {"epoch": 2, "metric": "val/acc", "value": 0.25}
    assert study.trials[0].intermediate_values == {0: pytest.approx(0.8), 1: 0.25}


def rows(sweep_dir: Path) -> list[dict[str, str]]:
    with (sweep_dir / "leaderboard.csv").open() as handle:
        return list(csv.DictReader(handle))


def search(tmp_path: Path, mnist_root: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(
        "-m",
        "hydra/sweeper=optuna",
        *TINY,
        f"paths.data_dir={mnist_root}",
        f"paths.log_dir={tmp_path / 'logs'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        *args,
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_a_hopeless_trial_is_pruned_and_the_same_command_continues_the_study(
    tmp_path: Path, mnist_root: Path
) -> None:
    """lr=1e-9 cannot learn: the threshold pruner stops it after its first validation; the
    study in the sweep folder then takes one more trial, numbered after the first two."""
    pruning = (
        "hydra/sweeper/pruner=threshold",
        "hydra.sweeper.pruner.lower=0.3",
        "trainer.max_epochs=2",
        "model.lr=choice(0.01,1e-9)",
    )
    result = search(tmp_path, mnist_root, "hydra/sweeper/sampler=grid", *pruning)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    sweep_dir = tmp_path / "sweep"
    table = {row["model.lr"]: row for row in rows(sweep_dir)}
    assert {lr: row["status"] for lr, row in table.items()} == {
        "0.01": "completed",
        "1e-09": "pruned",
    }
    pruned_dir = Path(table["1e-09"]["run_dir"])
    assert pruned_dir.name.endswith("_model.lr-1e-09")
    record = json.loads((pruned_dir / "metrics.json").read_text())
    assert record["status"] == "pruned" and record["pruned"]["epoch"] == 1
    assert record["pruned"]["metric"] == "val/acc" and record["pruned"]["value"] < 0.3
    assert len(record["history"]) == 1 and "test/acc" not in record  # stopped, not tested
    assert (pruned_dir / "checkpoints" / "last.ckpt").is_file()
    assert "pruned after epoch 1 (val/acc=" in (sweep_dir / "leaderboard.md").read_text()
    study = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert study["trials"] == {"complete": 1, "pruned": 1}
    assert study["best_params"] == {"model.lr": 0.01}
    assert study["dashboard"] == f"optuna-dashboard sqlite:///{sweep_dir.resolve()}/optuna.db"
    assert "Traceback" not in output

    again = search(
        tmp_path, mnist_root, "hydra/sweeper/sampler=random", "hydra.sweeper.n_trials=1", *pruning
    )
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert "2 trials so far, 1 more trial" in again.stdout + again.stderr
    numbers = sorted(int(row["job"]) for row in rows(sweep_dir))
    assert numbers == [0, 1, 2]  # one leaderboard over the whole study
    loaded = optuna.load_study(study_name="sweep", storage=f"sqlite:///{sweep_dir}/optuna.db")
    assert [t.number for t in loaded.trials] == [0, 1, 2]

    # another study in that folder is refused, as a finished grid of the basic sweeper is
    other = search(tmp_path, mnist_root, "hydra.sweeper.study_name=other", *pruning)
    assert other.returncode == 2
    assert "already holds a sweep whose jobs finished (0, 1, 2)" in other.stderr


def _open_after(barrier: Any, location: str) -> str:
    barrier.wait()
    try:
        open_storage(location).get_all_studies()
    except ConfigError as error:
        return str(error)
    return "opened"


@pytest.mark.slow
def test_workers_opening_one_new_database_at_once_all_open_it(tmp_path: Path) -> None:
    """Each worker creates the tables it does not see; the slower one must open the database
    again instead of failing with "table ... already exists" (lost 3 of 5 rounds before)."""
    workers = 6
    context = multiprocessing.get_context("fork")  # workers without a fresh import of torch
    with context.Manager() as manager, context.Pool(workers) as pool:
        for round_ in range(3):
            barrier = manager.Barrier(workers)
            location = f"sqlite:///{tmp_path / f'new{round_}.db'}"
            results = pool.starmap(_open_after, [(barrier, location)] * workers)
            assert results == ["opened"] * workers


@pytest.mark.slow
def test_two_workers_share_one_study_and_one_leaderboard(tmp_path: Path, mnist_root: Path):
    """Two processes on one storage URL and one sweep folder: four distinct trials, each in
    its own folder, one leaderboard."""
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    args = [
        "-m",
        "hydra/sweeper=optuna",
        "hydra/sweeper/sampler=random",
        "hydra/sweeper/pruner=none",
        "model.lr=tag(log,interval(0.001,0.05))",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.study_name=shared",
        f"hydra.sweeper.storage={storage}",
        "trainer.max_epochs=1",
        *TINY,
        f"paths.data_dir={mnist_root}",
        f"paths.log_dir={tmp_path / 'logs'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    package_root = str(Path(lightcnn.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": package_root}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "lightcnn.train", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    for worker, output in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, output[-3000:]
    sweep_dir = tmp_path / "sweep"
    numbers = sorted(int(p.name.split("_")[0]) for p in sweep_dir.iterdir() if p.is_dir())
    assert numbers == [0, 1, 2, 3]
    study = optuna.load_study(study_name="shared", storage=storage)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.COMPLETE}
    assert len({t.params["model.lr"] for t in study.trials}) == 4  # four distinct trials
    # each worker ran two of them
    for output in outputs:
        assert output.count("] Trial ") == 2
    # one leaderboard over both workers' jobs (each worker writes it when its own jobs end)
    assert (sweep_dir / "leaderboard.md").is_file()
    board = build_leaderboard(sweep_dir)
    assert sorted(int(job.name) for job in board.jobs) == [0, 1, 2, 3]
    assert board.counts() == {"completed": 4}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model.pool=max"], "the Optuna search has nothing to search"),
        (
            ["model.lr=interval(0.001,0.01)", "hydra.sweeper.storage=nosuchdb://x"],
            "hydra.sweeper.storage=nosuchdb://x cannot be opened",
        ),
        (
            ["model.lr=interval(0.001,0.01)", "hydra/sweeper/sampler=grid"],
            "model.lr: the grid sampler takes choice(...) or range(...)",
        ),
    ],
)
def test_a_bad_search_is_refused_in_one_line(tmp_path: Path, args: list[str], message: str):
    result = search(tmp_path, tmp_path / "no-data", *args)
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lightcnn: error: ")
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "sweep").exists()  # nothing left behind
