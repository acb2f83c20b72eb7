"""Parallel local jobs (``hydra/launcher=joblib``): one GPU per job, no CPU oversubscription.

joblib's loky workers already start with ``OMP_NUM_THREADS`` = cores // ``n_jobs`` (unless it is
set), which torch reads for its thread pool, so jobs on a CPU share the cores instead of each
taking all of them. On a machine with several GPUs every worker process claims one GPU for its
lifetime with a lock file, so jobs that run at the same time never share one. No Lightning here.
"""

from __future__ import annotations

import fcntl
import logging
import tempfile
from pathlib import Path
from typing import IO

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger("lightcnn")

LOCK_DIR = Path(tempfile.gettempdir()) / "lightcnn-gpu-locks"
_claimed: tuple[int, IO[str]] | None = None  # (GPU, its open lock file), for this process's life


def in_parallel_job() -> bool:
    """Whether this job was started by Hydra's joblib launcher."""
    target = OmegaConf.select(HydraConfig.get(), "launcher._target_", default="") or ""
    return "JoblibLauncher" in target


def claim_gpu(count: int, lock_dir: Path = LOCK_DIR) -> int | None:
    """A GPU no other process on this machine has claimed, kept until this process ends.

    Args:
        count: the number of GPUs.
        lock_dir: where the lock files live (one per GPU).

    Returns:
        The GPU's index, or None when every GPU is held.
    """
    global _claimed
    if _claimed is not None:
        return _claimed[0]
    lock_dir.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        handle = (lock_dir / f"gpu{index}.lock").open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _claimed = (index, handle)
        return index
    return None


def place_parallel_job(cfg: DictConfig) -> None:
    """In a joblib job: give a one-device GPU job its own GPU, and say where the job runs.

    Args:
        cfg: the job's config; ``trainer.devices`` becomes ``[<gpu>]`` when a GPU is claimed.
    """
    if not in_parallel_job():
        return
    trainer = cfg.trainer
    gpus = torch.cuda.device_count() if trainer.get("accelerator") in ("gpu", "cuda", "auto") else 0
    where = "CPU" if not gpus else f"trainer.devices={trainer.get('devices')}"
    if gpus > 1 and trainer.get("devices") == 1:
        index = claim_gpu(gpus)
        if index is None:
            log.warning(
                "All %d GPUs are held by other jobs; this one shares a GPU. Run at most %d jobs "
                "at a time: hydra.launcher.n_jobs=%d",
                gpus,
                gpus,
                gpus,
            )
        else:
            with open_dict(cfg):
                trainer.devices = [index]
            where = f"GPU {index}"
    log.info(
        "Parallel job %s on %s with %d torch thread(s)",
        HydraConfig.get().job.num,
        where,
        torch.get_num_threads(),
    )
