"""DDP on the CPU (trainer=ddp_sim: two processes over gloo, Lightning re-launching the script
for rank 1): one run directory, rank 0's record, metrics reduced across ranks exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow

# 101 validation images: two ranks get 51 + 50, so a padded (repeated) sample would show
SMALL = (
    "data.val_size=101",
    "data.num_workers=0",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "model.scheduler=none",
)
REPORTED = ("val/acc", "val/loss", "test/acc", "test/loss")


def console_lines(output: str) -> list[str]:
    return [line.split("] ", 1)[-1] for line in output.splitlines() if line.startswith("[")]


def checkpoints(run_dir: Path) -> list[str]:
    return sorted(path.name for path in (run_dir / "checkpoints").iterdir())


def test_ddp_sim_is_one_run_with_the_metrics_of_one_process(tmp_path: Path, mnist_root: Path):
    logs = tmp_path / "logs"
    common = (*SMALL, f"paths.data_dir={mnist_root}", f"paths.log_dir={logs}")
    result = run_cli("trainer=ddp_sim", *common, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Starting with 2 processes" in output
    runs = list((logs / "train" / "runs").iterdir())
    assert len(runs) == 1  # rank 1 ran in rank 0's directory
    run_dir = runs[0]
    assert len(checkpoints(run_dir)) == 2 and "last.ckpt" in checkpoints(run_dir)
    lines = console_lines(output)
    for once in ("Result (best checkpoint)", "Run directory", "MNIST: 499 train / 101 valid"):
        assert sum(line.startswith(once) for line in lines) == 1, once
    ddp = json.loads((run_dir / "metrics.json").read_text())
    assert ddp["status"] == "completed"

    # the same weights evaluated by one process: the same numbers
    single_dir = tmp_path / "single"
    single = run_cli(
        *common,
        "trainer.accelerator=cpu",
        f"ckpt_path={ddp['ckpt_path']}",
        f"hydra.run.dir={single_dir}",
        cwd=tmp_path,
    )
    assert single.returncode == 0, (single.stdout + single.stderr)[-3000:]
    one = json.loads((single_dir / "metrics.json").read_text())
    for name in REPORTED:
        assert ddp[name] == pytest.approx(one[name], abs=1e-6), name


def test_ddp_sim_in_a_multirun_gives_one_directory_per_job(tmp_path: Path, mnist_root: Path):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "-m",
        "trainer=ddp_sim",
        "model.pool=max,avg",
        *SMALL,
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        f"paths.data_dir={mnist_root}",
        f"paths.log_dir={tmp_path / 'logs'}",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert output.count("Starting with 2 processes") == 2  # each job started its own rank 1
    jobs = ["0_model.pool-max", "1_model.pool-avg"]
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == sorted(jobs)
    assert not (tmp_path / "logs").exists()  # no rank made a run or sweep of its own
    for job in jobs:
        assert len(checkpoints(sweep_dir / job)) == 2
        assert json.loads((sweep_dir / job / "metrics.json").read_text())["status"] == "completed"
    assert "2 jobs (2 completed)" in (sweep_dir / "leaderboard.md").read_text()
