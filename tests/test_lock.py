"""One writer per directory (rundir/lock.py): a second writer is refused in one line naming the
holder, a killed holder blocks nobody, and DDP ranks or sweep jobs of the holder are not second
writers."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import cli_env, run_cli
from lightcnn.launch.distributed import started_as_other_rank
from lightcnn.launch.hydra_callbacks import CheckBeforeRun
from lightcnn.launch.job import Job
from lightcnn.rundir.layout import LOCK
from lightcnn.rundir.lock import DirectoryInUseError, check_not_held, hold, read_holder

# a process that holds the folders named on its command line until its stdin closes; with
# "fork", a child inherits the lock and keeps it 1 s after its parent died (a data-loader worker)
HOLDER = """
import os, sys, time
from pathlib import Path
from lightcnn.rundir.lock import hold
locks = [hold(Path(folder), "hint") for folder in sys.argv[2:]]
if sys.argv[1] == "fork" and os.fork() == 0:
    time.sleep(1.0)
    os._exit(0)
print("held", flush=True)
sys.stdin.read()
"""


def start_holder(*folders: Path, fork: bool = False) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "fork" if fork else "-", *map(str, folders)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    assert process.stdout.readline().strip() == "held"
    return process


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_second_writer_is_refused_in_one_line_naming_the_holder(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    lock = hold(run_dir, "wait for it to end")
    holder = f"pid {os.getpid()} on host {socket.gethostname()}, started "
    for second_writer in (check_not_held, hold):  # flock: another open file is another writer
        with pytest.raises(DirectoryInUseError) as refused:
            second_writer(run_dir, "wait for it to end")
        message = str(refused.value)
        assert message.startswith(f"{run_dir} is being written by another lightcnn process")
        assert holder in message and message.endswith("; wait for it to end")
        assert "\n" not in message
    lock.release()
    assert (run_dir / LOCK).read_text() == ""  # the holder record goes with the lock
    check_not_held(run_dir, "hint")
    with hold(run_dir, "hint"):
        assert read_holder(run_dir)["pid"] == os.getpid()


@pytest.mark.parametrize("fork", [False, True], ids=["alone", "with_a_forked_child"])
def test_a_killed_holder_blocks_nobody(tmp_path: Path, fork: bool) -> None:
    run_dir = tmp_path / "run"
    holder = start_holder(run_dir, fork=fork)
    with pytest.raises(DirectoryInUseError, match=f"pid {holder.pid} on host"):
        check_not_held(run_dir, "hint")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert read_holder(run_dir)["pid"] == holder.pid  # its record stays, the lock does not
    # a child that inherited the lock keeps it until it exits: waited for, since its parent died
    with hold(run_dir, "hint"):
        assert read_holder(run_dir)["pid"] == os.getpid()


def test_ddp_ranks_started_by_a_launcher_are_not_writers(monkeypatch) -> None:
    for key in ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID"):
        monkeypatch.delenv(key, raising=False)
    assert not started_as_other_rank()
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("NODE_RANK", "0")
    assert not started_as_other_rank()  # what Lightning leaves in rank 0's own environment
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("LOCAL_RANK", "1")  # Lightning's re-launch inside a SLURM allocation
    assert started_as_other_rank()
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("SLURM_PROCID", "3")  # srun's fourth task
    assert started_as_other_rank()


def test_a_relaunched_rank_runs_in_the_held_run_directory(make_cfg, tmp_path, monkeypatch):
    cfg = make_cfg()
    run_dir = Path(cfg.hydra.run.dir)
    with hold(run_dir, "hint"):
        monkeypatch.setenv("LOCAL_RANK", "1")
        check = CheckBeforeRun()
        check.on_run_start(cfg)  # no refusal, no lock taken
        assert check.lock is None
        monkeypatch.setenv("LOCAL_RANK", "0")
        with pytest.raises(SystemExit) as refused:
            CheckBeforeRun().on_run_start(cfg)
        assert refused.value.code == 2


def test_a_sweep_job_holds_its_own_folder_inside_the_held_sweep_folder(make_cfg, monkeypatch):
    for key in ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID"):
        monkeypatch.delenv(key, raising=False)
    cfg = make_cfg()
    sweep_dir = Path(cfg.hydra.run.dir).parent / "sweep"
    job = Job(sweep_dir / "0", in_sweep=True, metric=None, direction="maximize", seed=1)
    with hold(sweep_dir, "hint"), job.scope(cfg), pytest.raises(DirectoryInUseError):
        check_not_held(job.run_dir, "hint")
    check_not_held(job.run_dir, "hint")  # released at the job's end
    monkeypatch.setenv("LOCAL_RANK", "1")
    with job.scope(cfg):  # a rank of that job: rank 0 holds its folder
        check_not_held(job.run_dir, "hint")


@pytest.mark.slow
def test_every_second_writer_is_refused_and_writes_nothing(
    tmp_path: Path, trained_run: Path, mnist_root: Path
) -> None:
    """train, resume=, eval and a sweep into folders another process holds: one line naming
    it, exit 2, not a byte written."""
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    eval_dir, sweep_dir = tmp_path / "eval", tmp_path / "sweep"
    holder = start_holder(run_dir, eval_dir, sweep_dir)
    before = {folder: digest(folder) for folder in (run_dir, eval_dir, sweep_dir)}
    data = f"paths.data_dir={mnist_root}"
    commands = {
        "train": ([data, f"hydra.run.dir={run_dir}"], "lightcnn.train", run_dir),
        "resume": ([f"resume={run_dir}"], "lightcnn.train", run_dir),
        "eval": (
            [f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", f"hydra.run.dir={eval_dir}"],
            "lightcnn.eval",
            eval_dir,
        ),
        "sweep": (
            ["-m", data, "seed=1,2", f"hydra.sweep.dir={sweep_dir}"],
            "lightcnn.train",
            sweep_dir,
        ),
    }

    def run(name: str) -> subprocess.CompletedProcess:
        args, module, _ = commands[name]
        return run_cli(*args, module=module, cwd=tmp_path)

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = dict(zip(commands, pool.map(run, commands), strict=True))
        after = {folder: digest(folder) for folder in before}  # the holder's record included
    finally:
        holder.stdin.close()
        holder.wait()
    for name, result in results.items():
        folder = commands[name][2]
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (name, result.stderr[-2000:])
        assert len(lines) == 1, (name, lines)
        assert lines[0].startswith(
            f"lightcnn: error: {folder} is being written by another lightcnn process "
            f"(pid {holder.pid} on host {socket.gethostname()}, started "
        ), (name, lines)
    assert "resume it once that process has ended" in results["resume"].stderr
    assert "choose another hydra.sweep.dir" in results["sweep"].stderr
    assert after == before
