"""Crash consistency: a short training run killed with SIGKILL at many points of its life —
inside each write that matters (checkpoints, attempt records, the report, ``metrics.json``;
with the ``LIGHTCNN_TEST_KILL_IN_WRITE`` hook of ``core/io.py``) and at fixed delays — leaves
a directory whose every file is complete and parseable, whose ``metrics.json`` is absent or
final, and that ``resume=`` completes with the test accuracy of an uninterrupted run, or
refuses clearly when nothing can be resumed.

Each subprocess is one kill point: the kills of one directory follow each other (a resume is
killed in turn), so a dozen kill points cost about as many short runs.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import cli_env, run_cli
from lightcnn.core.errors import ConfigError
from lightcnn.core.io import KILL_IN_WRITE, PARTIAL
from lightcnn.rundir.layout import LAST, LOCK, METRICS, OUTCOMES, RUNNING, STATUSES
from lightcnn.rundir.record import next_attempt, read_attempts
from lightcnn.rundir.resume import expand_resume

pytestmark = pytest.mark.slow

REPORTED = ("val/acc", "val/loss", "test/acc", "test/loss")


def train_args(data: Path, run_dir: Path) -> list[str]:
    """Three epochs of four batches, deterministic; the figures that only slow it down off."""
    return [
        f"paths.data_dir={data}",
        f"hydra.run.dir={run_dir}",
        "data.val_size=100",
        "data.num_workers=0",
        "data.batch_size=32",
        "trainer.max_epochs=3",
        "trainer.limit_train_batches=4",
        "trainer.deterministic=true",
        "trainer.accelerator=cpu",
        "callbacks.model_summary=null",
        "callbacks.classification_figures=null",
        "callbacks.first_layer_filters=null",
    ]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, mnist_root: Path) -> dict:
    """The uninterrupted run: its metrics, best checkpoint's name and wall time."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    started = time.monotonic()
    result = run_cli(*train_args(mnist_root, run_dir), cwd=run_dir.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / METRICS).read_text())
    return {"metrics": metrics, "seconds": time.monotonic() - started, "dir": run_dir}


def killed_in_write(args: list[str], cwd: Path, where: str) -> subprocess.CompletedProcess:
    """Run the CLI with the test hook: it SIGKILLs itself inside the write ``where`` names."""
    result = run_cli(*args, cwd=cwd, env={KILL_IN_WRITE: where})
    assert result.returncode == -signal.SIGKILL, (where, result.stderr[-3000:])
    return result


def killed_after(args: list[str], cwd: Path, seconds: float) -> str:
    """Run the CLI and SIGKILL it ``seconds`` after its start; say whether it got to its end."""
    with (cwd / "killed.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lightcnn.train", *args],
            cwd=cwd,
            env=cli_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return "killed"
    assert process.returncode == 0, (cwd / "killed.log").read_text()[-3000:]
    return "finished before the kill"


def check_consistent(run_dir: Path) -> list[str]:
    """Every file of a run directory is complete and parseable, ``metrics.json`` is absent or
    final, at most one attempt is still ``running`` (the killed one); returns the leftover
    ``.partial`` files (names only)."""
    partials = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        name = path.name
        if name.endswith(PARTIAL):
            partials.append(str(path.relative_to(run_dir)))
        elif name.endswith(".ckpt"):
            assert "state_dict" in torch.load(path, weights_only=True), path
        elif name.endswith(".json"):
            assert isinstance(json.loads(path.read_text()), dict), path
        elif name.endswith(".yaml"):
            yaml.safe_load(path.read_text())
        elif name.endswith(".png"):
            with Image.open(path) as image:
                image.verify()
        elif name == LOCK:
            text = path.read_text()
            assert not text or "pid" in json.loads(text), path
        elif name == "report.md":
            path.read_text()
        # train.log and TensorBoard's events are appended to (a torn last line is possible,
        # and TensorBoard skips a torn last record: read below)
    if (run_dir / "tensorboard").is_dir():
        EventAccumulator(str(run_dir / "tensorboard")).Reload()  # a torn last record is skipped
    if (run_dir / METRICS).is_file():
        final = json.loads((run_dir / METRICS).read_text())
        assert final["status"] in STATUSES and "test/acc" in final, final
    attempts = read_attempts(run_dir) if (run_dir / ".hydra").is_dir() else []
    assert all(a["outcome"] in OUTCOMES for a in attempts), attempts
    assert sum(a["outcome"] == RUNNING for a in attempts) <= 1, attempts
    return partials


def where_it_stood(run_dir: Path) -> str:
    """How far a killed run had got, from what it left."""
    if not (run_dir / ".hydra" / "overrides.yaml").is_file():
        return "before its record"
    if (run_dir / METRICS).is_file():
        return "finished"
    if not (run_dir / LAST).is_file():
        return "before the first checkpoint"
    epoch = torch.load(run_dir / LAST, weights_only=True)["epoch"] + 1
    return f"after epoch {epoch}'s checkpoint" + (", in the test" if epoch == 3 else "")


def resume(run_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_cli(f"resume={run_dir}", cwd=run_dir.parent, env=env)


def assert_like_the_reference(run_dir: Path, reference: dict) -> dict:
    """The resumed run's final record: the uninterrupted run's metrics, exactly."""
    assert check_consistent(run_dir) == []  # the resumes removed what killed writes left
    final = json.loads((run_dir / METRICS).read_text())
    expected = reference["metrics"]
    assert final["status"] == "completed"
    assert {name: final[name] for name in REPORTED} == {name: expected[name] for name in REPORTED}
    assert [e["epoch"] for e in final["history"]] == [1, 2, 3]
    assert [e["val/acc"] for e in final["history"]] == [e["val/acc"] for e in expected["history"]]
    best = Path(expected["ckpt_path"]).name
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == sorted(
        [best, "last.ckpt"]
    )
    assert all(a["outcome"] != RUNNING for a in final["attempts"])
    return final


def test_kills_inside_each_write_then_resume(
    tmp_path: Path, mnist_root: Path, reference: dict, capsys
) -> None:
    """Seven kill points in one directory, each inside a write, each resume killed in turn."""
    run_dir = tmp_path / "run"
    points = []

    def kill(where: str, *args: str) -> subprocess.CompletedProcess:
        result = killed_in_write(list(args), tmp_path, where)
        points.append((where.replace(str(run_dir), "<run>"), check_consistent(run_dir)))
        return result

    # 1. the checkpoint of epoch 2 (last.ckpt still holds epoch 1)
    kill(f"{run_dir}/checkpoints/last.ckpt@2", *train_args(mnist_root, run_dir))
    assert torch.load(run_dir / LAST, weights_only=True)["epoch"] == 0
    # 2. the resume's record of the killed attempt 0
    kill(f"{run_dir}/.hydra/attempt.json@1", f"resume={run_dir}")
    assert read_attempts(run_dir)[0]["outcome"] == RUNNING  # the record as it was
    # 3. the resume's own first record: attempt 0 is recorded as killed now
    output = kill(
        f"{run_dir}/.hydra/resumes/{next_attempt(run_dir)}/attempt.json@1", f"resume={run_dir}"
    )
    assert re.search(
        r"Removed what a killed write left unfinished: \.hydra/attempt\.json\.\d+\.partial",
        output.stdout,
    )
    assert "Attempt 0 ended without a record" in output.stdout
    # 4. the resume's checkpoint of epoch 2
    kill(f"{run_dir}/checkpoints/last.ckpt@1", f"resume={run_dir}")
    # 5. the report, after the last epoch
    kill(f"{run_dir}/report/*@1", f"resume={run_dir}")
    assert torch.load(run_dir / LAST, weights_only=True)["epoch"] == 2
    # 6. the record of the attempt's end
    kill(f"{run_dir}/.hydra/resumes/{next_attempt(run_dir)}/attempt.json@2", f"resume={run_dir}")
    # 7. metrics.json, written last
    kill(f"{run_dir}/{METRICS}", f"resume={run_dir}")
    assert not (run_dir / METRICS).exists() and list(run_dir.glob(f"{METRICS}.*{PARTIAL}"))

    done = resume(run_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    final = assert_like_the_reference(run_dir, reference)
    outcomes = [(a["attempt"], a["outcome"], a["epochs"]) for a in final["attempts"]]
    # attempts 1 and 2 died before writing a record of their own
    assert outcomes == [
        (0, "killed", [1]),
        (3, "killed", []),  # killed writing epoch 2's checkpoint: epoch 2 not proven
        (4, "killed", [2, 3]),
        (5, "killed", []),
        (6, "completed", []),  # its end was recorded; metrics.json was not
        (7, "completed", []),
    ]
    with capsys.disabled():
        print(f"\n{len(points)} kill points inside writes, then one resume= to the end:")
        for where, partials in points:
            print(f"  killed in {where}: consistent, left {partials or 'no .partial'}")


def test_kills_at_fixed_delays_then_resume(
    tmp_path: Path, mnist_root: Path, reference: dict, capsys
) -> None:
    """Three kills at fixed fractions of the uninterrupted run's wall time, each followed by a
    resume= (or, when nothing could be resumed, a clear refusal and a fresh start)."""
    run_dir = tmp_path / "run"
    outcomes = []
    for fraction in (0.55, 0.45, 0.75):
        seconds = fraction * reference["seconds"]
        if (run_dir / LAST).is_file():
            outcome = killed_after([f"resume={run_dir}"], tmp_path, seconds)
        else:
            if (run_dir / ".hydra").is_dir():
                with pytest.raises(ConfigError, match="nothing to resume; start it again"):
                    expand_resume(["lightcnn.train", f"resume={run_dir}"])
            outcome = killed_after(train_args(mnist_root, run_dir), tmp_path, seconds)
        outcomes.append(
            (f"{seconds:.1f} s", outcome, where_it_stood(run_dir), check_consistent(run_dir))
        )
        if outcome != "killed":
            break
    if not (run_dir / METRICS).is_file():  # to the end: resumed, or started again
        args = (
            [f"resume={run_dir}"] if (run_dir / LAST).is_file() else train_args(mnist_root, run_dir)
        )
        done = run_cli(*args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
    assert_like_the_reference(run_dir, reference)
    with capsys.disabled():
        print(f"\n{len(outcomes)} kill points at fixed delays, each consistent:")
        for delay, outcome, stood, partials in outcomes:
            print(f"  after {delay}: {outcome} {stood}, left {partials or 'no .partial'}")


@pytest.mark.parametrize(
    "where",
    [".hydra/attempt.json@2", "checkpoints/epoch000*"],
    ids=["training_start_record", "first_checkpoint"],
)
def test_a_kill_before_the_first_last_checkpoint_leaves_nothing_to_resume(
    tmp_path: Path, mnist_root: Path, where: str
) -> None:
    run_dir = tmp_path / "run"
    killed_in_write(train_args(mnist_root, run_dir), tmp_path, f"{run_dir}/{where}")
    check_consistent(run_dir)
    assert not (run_dir / LAST).exists()
    with pytest.raises(ConfigError, match="nothing to resume; start it again"):
        expand_resume(["lightcnn.train", f"resume={run_dir}"])
