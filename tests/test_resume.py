"""Interruption and resume: SIGTERM mid-epoch, then resume=<run dir> reaches the same metrics."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import run_cli
from fakedata import write_mnist
from lightcnn.rundir.layout import LAST

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def noisy_mnist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 training digits with 30% wrong labels: accuracy stays well below 100%."""
    return write_mnist(tmp_path_factory.mktemp("noisy"), train=1000, test=300, label_noise=0.3)


def overrides(data: Path, run_dir: Path) -> list[str]:
    return [
        f"paths.data_dir={data}",
        f"hydra.run.dir={run_dir}",
        "data.val_size=200",
        "data.num_workers=0",
        "data.batch_size=16",
        "trainer.max_epochs=3",
        "trainer.deterministic=true",
        "trainer.accelerator=cpu",
        "model.lr=0.01",
    ]


def test_sigterm_mid_epoch_then_resume_matches_an_uninterrupted_run(
    tmp_path: Path, noisy_mnist: Path
) -> None:
    full = run_cli(*overrides(noisy_mnist, tmp_path / "full"), cwd=tmp_path)
    assert full.returncode == 0, full.stderr[-3000:]
    expected = json.loads((tmp_path / "full" / "metrics.json").read_text())

    run_dir = tmp_path / "interrupted"
    process = subprocess.Popen(
        [sys.executable, "-m", "lightcnn.train", *overrides(noisy_mnist, run_dir)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    # The second epoch has just begun: Lightning stops at the end of the current batch.
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 143, output[-3000:]
    assert "Interrupted during epoch 2" in output
    assert f"python -m lightcnn.train resume={run_dir}" in output
    assert not (run_dir / "metrics.json").exists()

    resumed = run_cli(f"resume={run_dir}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming from" in resumed.stdout + resumed.stderr
    result = json.loads((run_dir / "metrics.json").read_text())
    for name in ("val/acc", "val/loss", "test/acc", "test/loss"):
        assert result[name] == expected[name], name
    assert 0.3 < result["test/acc"] < 0.95
    # the history carries over in the checkpoint: every epoch once, with the same val/acc
    assert [entry["epoch"] for entry in result["history"]] == [1, 2, 3]
    assert [e["val/acc"] for e in result["history"]] == [e["val/acc"] for e in expected["history"]]
    # One TensorBoard run: both processes wrote into the same folder, one val/acc per epoch.
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    steps = [event.step for event in events.Scalars("val/acc")]
    assert len(steps) == 4 and steps == sorted(steps)  # 3 epochs, then the best checkpoint


def test_resume_of_a_run_without_checkpoint_or_not_a_run(tmp_path: Path) -> None:
    result = run_cli(f"resume={tmp_path}", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path} is not a lightcnn run directory" in result.stderr
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("[]\n")
    result = run_cli(f"resume={tmp_path}", cwd=tmp_path)
    assert result.returncode == 2
    assert "nothing to resume" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_exits_130_with_the_resume_hint(tmp_path: Path, noisy_mnist: Path) -> None:
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "lightcnn.train", *overrides(noisy_mnist, run_dir)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ},
        # a shell's background job starts with SIGINT ignored, and Python keeps it so
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 130, output[-3000:]
    assert "Resume with" in output


def interrupt_after_first_epoch(run_dir: Path, args: list[str], cwd: Path) -> str:
    """Start a run, SIGTERM it as soon as its first epoch is saved; return its output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lightcnn.train", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 143, output[-3000:]
    return output


def snapshot(run_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run_dir)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name != "train.log"
    }


def test_resume_for_more_epochs_keeps_the_record_true(tmp_path: Path, noisy_mnist: Path) -> None:
    """The issue's sequence: interrupted after epoch 1 of 3, a continuation with another
    optimizer refused (nothing written), then a continuation to 4 epochs."""
    run_dir = tmp_path / "run"
    interrupt_after_first_epoch(run_dir, overrides(noisy_mnist, run_dir), tmp_path)
    before = snapshot(run_dir)
    original = {k: v for k, v in before.items() if k.startswith(".hydra/")}

    refused = run_cli(f"resume={run_dir}", "model.optimizer=sgd", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"lightcnn: error: resume={run_dir} continues a checkpoint trained with another recipe: "
        "model.optimizer: 'adamw' → 'sgd'. A continuation keeps the checkpoint's optimizer and "
        "schedule state, so only trainer.max_epochs and how it runs may change; to train its "
        f"weights with a new recipe, start a new run with init_from={run_dir / LAST}"
    ]
    assert snapshot(run_dir) == before  # nothing written, no record of a refused attempt

    more = run_cli(f"resume={run_dir}", "trainer.max_epochs=4", cwd=tmp_path)
    assert more.returncode == 0, more.stderr[-3000:]
    assert (
        "model.scheduler=onecycle: the schedule planned to end at step 150, now at step 200: "
        "stretched"
    ) in more.stdout
    after = snapshot(run_dir)
    assert {k: after[k] for k in original} == original  # the run's own record is untouched
    resumed = yaml.safe_load((run_dir / ".hydra/resumes/1/overrides.yaml").read_text())
    assert "trainer.max_epochs=4" in resumed and f"resume={run_dir}" in resumed
    metrics = json.loads((run_dir / "metrics.json").read_text())
    attempts = [(a["attempt"], a["outcome"], a["epochs"]) for a in metrics["attempts"]]
    assert attempts == [(0, "interrupted", [1]), (1, "completed", [2, 3, 4])]
    assert [(e["epoch"], e["attempt"]) for e in metrics["history"]] == [
        (1, 0),
        (2, 1),
        (3, 1),
        (4, 1),
    ]
    assert metrics["history"][-1]["val/acc"] > metrics["history"][0]["val/acc"]
    # the learning-rate curve of the one TensorBoard run, one point per epoch start (the
    # interrupted attempt had logged epoch 2's too, at the same step): past its peak, it only
    # goes down, without dropping to zero
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    tag = next(t for t in events.Tags()["scalars"] if t.startswith("lr"))
    by_step = {event.step: event.value for event in events.Scalars(tag)}
    rates = [by_step[step] for step in sorted(by_step)]
    assert len(rates) == 4
    assert all(a >= b for a, b in itertools.pairwise(rates[1:]))
    assert rates[-1] > 0
