"""The pooling × padding sweep: six runs, each with its choices and final metrics as hparams,
and the sweep's leaderboard."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from conftest import run_cli

POOLS, PADDINGS = ("max", "avg", "min"), ("valid", "same")


def hparams_of(run_dir: Path) -> tuple[dict[str, object], set[str]]:
    """The hparams a run shows in TensorBoard's HPARAMS tab, and the metrics beside them: the
    session and the scalars of the run's ``tensorboard/hparams`` folder."""
    events = EventAccumulator(str(run_dir / "tensorboard" / "hparams"))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    values = {name: v.string_value or v.number_value for name, v in start.hparams.items()}
    return values, set(events.Tags()["scalars"])


def test_experiment_sweeps_pool_and_padding_on_lenet5(make_cfg) -> None:
    cfg = make_cfg("experiment=pooling_padding_sweep")
    params = cfg.hydra.sweeper.params
    assert params["model.pool"].split(",") == list(POOLS)
    assert params["model.padding"].split(",") == list(PADDINGS)
    assert cfg.model.arch == "lenet5" and cfg.data.dataset == "mnist"
    assert cfg.seed == 42 and cfg.trainer.max_epochs == 3


@pytest.mark.slow
def test_multirun_logs_each_runs_choices_and_final_metrics(tmp_path: Path, mnist_root: Path):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m",
        "experiment=pooling_padding_sweep",
        "debug=limit",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        f"paths.data_dir={mnist_root}",
        f"hydra.sweep.dir={sweep}",
        "data.val_size=100",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = set()
    # the leaderboard: one row per job, its swept values, sorted by val/acc, the best first
    with (sweep / "leaderboard.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(row["model.pool"], row["model.padding"]) for row in rows} == set(
        itertools.product(POOLS, PADDINGS)
    )
    accuracies = [float(row["val/acc"]) for row in rows]
    assert accuracies == sorted(accuracies, reverse=True) and rows[0]["best"] == "True"
    assert (sweep / "leaderboard.md").is_file()
    for run_dir in sorted(p for p in sweep.iterdir() if p.is_dir()):
        hparams, scalars = hparams_of(run_dir)
        seen.add((hparams["pool"], hparams["padding"]))
        assert {"val/best_acc", "test/acc", "test/loss", "wall_time_s"} == scalars
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert 0.0 <= metrics["test/acc"] <= 1.0
    assert seen == set(itertools.product(POOLS, PADDINGS))
