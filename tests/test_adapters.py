"""The adapters lightcnn keeps for gaps upstream: each test fails when the upstream behaviour
its adapter relies on changes; the message names the adapter to re-read against the release."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from unittest import mock

from hydra.core.global_hydra import GlobalHydra
from lightning.fabric.plugins.environments import LightningEnvironment
from lightning.fabric.strategies.launchers import subprocess_script

from conftest import compose_job
from lightcnn.launch.distributed import DDP_ENVIRONMENT, lightning_hydra_relaunch

RELAUNCH_CHANGED = (
    "Lightning's DDP re-launch inside a Hydra job changed: re-read "
    "lightcnn.launch.distributed.lightning_hydra_relaunch (Lightning PR #18175)"
)


def test_lightning_relaunches_ddp_ranks_as_the_hydra_relaunch_adapter_expects(
    tmp_path: Path, monkeypatch
) -> None:
    job_dir = tmp_path / "sweep" / "0"
    try:
        compose_job("train", ["model.pool=max"], tmp_path / "not-the-job")
    finally:
        GlobalHydra.instance().clear()
    # a job of `-m model.pool=max,avg`: rank 0's command line holds the whole sweep
    monkeypatch.setattr(sys, "argv", ["train.py", "-m", "model.pool=max,avg"])
    started: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr(
        subprocess_script.subprocess, "Popen", lambda cmd, env, cwd: started.append((cmd, env))
    )
    with mock.patch.dict(os.environ):  # whatever happens, the test leaves it as it was
        for key in DDP_ENVIRONMENT:
            os.environ.pop(key, None)
        launcher = subprocess_script._SubprocessScriptLauncher(
            LightningEnvironment(), num_processes=2, num_nodes=1
        )
        with lightning_hydra_relaunch(job_dir, in_sweep=True):
            launcher._call_children_scripts()
            # Lightning leaves its variables here: a next Trainer would start no ranks
            left = {key for key in DDP_ENVIRONMENT if key in os.environ}
            assert left == set(DDP_ENVIRONMENT), RELAUNCH_CHANGED
            assert LightningEnvironment().creates_processes_externally, RELAUNCH_CHANGED
        ((command, env),) = started
        program = 3 if command[1] == "-m" else 2  # python -m <module>, or python <script>
        assert command[program:] == [
            "model.pool=max",
            f'hydra.run.dir="{job_dir}"',
            "hydra.job.name=train_ddp_process_1",
            "hydra.output_subdir=null",
        ], f"{RELAUNCH_CHANGED}; it started: {command}"
        assert env["LOCAL_RANK"] == "1", RELAUNCH_CHANGED
        # the adapter undid it after the job
        assert not any(key in os.environ for key in DDP_ENVIRONMENT)
        assert not LightningEnvironment().creates_processes_externally
    assert sys.argv == ["train.py", "-m", "model.pool=max,avg"]
