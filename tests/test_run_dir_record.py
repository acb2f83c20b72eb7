"""What a killed or failed run leaves, and how the next start reads it: attempts recorded as
killed with the epochs their checkpoints prove, ``.partial`` files removed, an unfinished run
never restarted over, and a failure after training started keeping its directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import cli_env
from lightcnn.core.errors import ConfigError, NonFiniteLossError
from lightcnn.core.io import KILL_IN_WRITE, write_json
from lightcnn.launch.job import Job
from lightcnn.rundir.guards import check_run_dir, remove_partials
from lightcnn.rundir.layout import ATTEMPT, KILLED, LAST, RECORD, RESUMES
from lightcnn.rundir.record import (
    Attempt,
    read_attempts,
    record_killed_attempts,
    replayed_overrides,
    training_started,
)
from lightcnn.sweeps.leaderboard import build_leaderboard


def save_last(run_dir: Path, epoch: int) -> None:
    """A ``last.ckpt`` as Lightning writes it after epoch index ``epoch``."""
    (run_dir / LAST).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": epoch, "state_dict": {"w": torch.zeros(2)}}, run_dir / LAST)


def attempt_record(run_dir: Path, number: int, **fields) -> None:
    folder = RECORD if number == 0 else RESUMES / str(number)
    record = {"attempt": number, "added_overrides": [], "outcome": "running", **fields}
    write_json(run_dir / folder / ATTEMPT, record)


def test_a_killed_first_attempt_gets_the_epochs_its_checkpoint_proves(tmp_path: Path) -> None:
    attempt_record(tmp_path, 0, started="t0")
    save_last(tmp_path, epoch=1)  # epochs 1 and 2 finished
    (killed,) = record_killed_attempts(tmp_path, by_attempt=1)
    on_disk = read_attempts(tmp_path)[0]
    assert on_disk == killed
    assert on_disk["outcome"] == KILLED and on_disk["epochs"] == [1, 2]
    assert on_disk["started"] == "t0" and on_disk["ended"] is None  # its own fields kept
    assert on_disk["recorded_by_attempt"] == 1
    assert record_killed_attempts(tmp_path, by_attempt=2) == []  # recorded once


def test_a_killed_continuation_gets_only_the_epochs_beyond_the_earlier_ones(tmp_path: Path):
    attempt_record(tmp_path, 0, outcome="interrupted", epochs=[1, 2])
    attempt_record(tmp_path, 1, added_overrides=["trainer.max_epochs=6"])
    save_last(tmp_path, epoch=2)  # attempt 1 finished epoch 3, then died
    record_killed_attempts(tmp_path, by_attempt=2)
    assert [(a["outcome"], a["epochs"]) for a in read_attempts(tmp_path)] == [
        ("interrupted", [1, 2]),
        ("killed", [3]),
    ]
    # its checkpoints were trained with its overrides: a later resume= replays them
    (tmp_path / RECORD / "overrides.yaml").write_text("- seed=3\n")
    assert replayed_overrides(tmp_path) == ["seed=3", "trainer.max_epochs=6"]


def test_a_killed_attempt_without_a_checkpoint_proves_no_epoch(tmp_path: Path) -> None:
    attempt_record(tmp_path, 0)
    (killed,) = record_killed_attempts(tmp_path, by_attempt=1)
    assert killed["epochs"] == []


def test_partials_are_removed_in_the_runs_own_folders_only(tmp_path: Path) -> None:
    left = [
        tmp_path / "checkpoints" / "last.ckpt.partial",
        tmp_path / ".hydra" / "attempt.json.partial",
        tmp_path / ".hydra" / "resumes" / "2" / "attempt.json.partial",
        tmp_path / "report" / "report.md.partial",
        tmp_path / "metrics.json.partial",
    ]
    evaluating = tmp_path / "eval" / "2025-01-01_00-00-00_test" / "metrics.json.partial"
    for path in [*left, evaluating]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half")
    assert remove_partials(tmp_path) == sorted(left)
    assert not any(path.exists() for path in left)
    assert evaluating.exists()  # an evaluation writing now, under a lock of its own


def test_an_unfinished_run_is_never_restarted_over(tmp_path: Path) -> None:
    save_last(tmp_path, epoch=0)
    with pytest.raises(ConfigError) as refused:
        check_run_dir(tmp_path, resuming=False)
    assert str(refused.value) == (
        f"{tmp_path} holds a run that stopped before its end (checkpoints/last.ckpt but no "
        f"metrics.json: interrupted or killed); continue it with resume={tmp_path}, or choose "
        "another hydra.run.dir"
    )
    check_run_dir(tmp_path, resuming=True)


def started_run(run_dir: Path, training: bool) -> None:
    """A run directory as a run leaves it when it fails, before or after its training started."""
    attempt = Attempt(run_dir, output_subdir=".hydra", overrides=["model.lr=1e6"])
    if training:
        attempt.training_starts()
    attempt.finish("failed", error="train/loss became inf")
    (run_dir / "train.log").write_text("...\n")
    (run_dir / "tensorboard").mkdir()
    (run_dir / "tensorboard" / "events.out.tfevents.1.host.1.0").write_bytes(b"events")


def test_a_failure_after_training_started_keeps_its_evidence(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "diverged"
    started_run(run_dir, training=True)
    assert training_started(run_dir)
    job = Job(run_dir, in_sweep=False, metric=None, direction="maximize", seed=7)
    job.record_failure(NonFiniteLossError("train/loss became inf at epoch 0, step 3"))
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "failed" and record["last_checkpoint"] is None
    assert record["error"] == "train/loss became inf at epoch 0, step 3"
    assert [a["outcome"] for a in record["attempts"]] == ["failed"]
    assert (run_dir / "train.log").is_file() and any((run_dir / "tensorboard").iterdir())
    # the leaderboard of a folder of runs shows it as failed, with its error
    (job_row,) = build_leaderboard(run_dir.parent, "val/acc", None).jobs
    assert job_row.status == "failed" and "became inf" in job_row.error


def test_a_failure_before_training_leaves_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    started_run(run_dir, training=False)
    Job(run_dir, in_sweep=False, metric=None, direction="maximize", seed=7).record_failure(
        ConfigError("data.val_size=600 must be smaller than the 600 training images")
    )
    assert not run_dir.exists()


def test_the_kill_in_write_test_hook_leaves_the_partial_and_the_old_file(tmp_path: Path):
    target = tmp_path / "metrics.json"
    target.write_text("old\n")
    code = (
        "import sys\nfrom lightcnn.core.io import write_text\n"
        "for n in range(3):\n    write_text(sys.argv[1], f'new {n}\\n')\n"
    )
    env = cli_env({KILL_IN_WRITE: "*/metrics.json@2"})
    result = subprocess.run([sys.executable, "-c", code, str(target)], env=env)
    assert result.returncode == -signal.SIGKILL
    assert target.read_text() == "new 0\n"  # the first write landed, the second never renamed
    (partial,) = tmp_path.glob("metrics.json.*.partial")  # <name>.<pid>.partial
    assert partial.read_text() == "new 1\n"
    assert os.environ.get(KILL_IN_WRITE) is None
