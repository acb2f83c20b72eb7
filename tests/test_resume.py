"""Interruption and resume: SIGTERM mid-epoch, then resume=<run dir> reaches the same metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import run_cli
from fakedata import write_mnist

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
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 130, output[-3000:]
    assert "Resume with" in output
