"""DDP inside Hydra runs and sweeps: this process's rank, whether a launcher started it as one
of a job's other ranks, and the one adapter lightcnn keeps for a gap upstream,
:func:`lightning_hydra_relaunch` (one run directory and fresh ranks per job). No Lightning
imported here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import read_write

# what Lightning's launcher sets in the launching process for its ranks
DDP_ENVIRONMENT = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
# the ranks a launcher gives the processes it starts: Lightning's re-launch (LOCAL_RANK,
# NODE_RANK), torchrun (RANK too), srun (SLURM_PROCID)
RANK_ENVIRONMENT = ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID")


def global_rank() -> int:
    """This process's rank: Lightning's once it is loaded (its strategy sets it, from the
    launcher or from SLURM), else 0 (nothing has been launched yet)."""
    rank_zero = sys.modules.get("lightning.fabric.utilities.rank_zero")
    return int(getattr(rank_zero.rank_zero_only, "rank", 0)) if rank_zero else 0


def started_as_other_rank() -> bool:
    """Whether a launcher started this process as a rank other than 0 of one job: it runs in
    rank 0's directory, whose lock rank 0 holds, and writes no record (read before Lightning
    loads, from the environment the launcher set).

    Any of :data:`RANK_ENVIRONMENT` above 0 counts: in a SLURM allocation without ``srun``,
    Lightning's re-launched rank 1 inherits ``SLURM_PROCID=0`` with ``LOCAL_RANK=1``.
    """
    ranks = (os.environ.get(key, "0") for key in RANK_ENVIRONMENT)
    return any(rank.isdigit() and int(rank) > 0 for rank in ranks)


@contextmanager
def lightning_hydra_relaunch(run_dir: Path, in_sweep: bool) -> Iterator[None]:
    """Adapter for an upstream gap: DDP ranks that Lightning re-launches inside a Hydra job run
    exactly this job in ``run_dir``; after a job of a sweep, the launching process is as before.

    Lightning has no public way to set the command its ``ddp`` launcher starts ranks 1..n-1
    with inside a Hydra job (Lightning PR #18175, open:
    https://github.com/Lightning-AI/pytorch-lightning/pull/18175; Hydra issue #2070). What
    this relies on in Lightning 2.6, checked by ``tests/test_adapters.py``:

    - with Hydra initialized, the launcher starts each rank with
      ``lightning.fabric.strategies.launchers.subprocess_script._hydra_subprocess_cmd``:
      ``sys.argv[1:]`` plus ``hydra.run.dir=<HydraConfig run.dir>``,
      ``hydra.job.name=train_ddp_process_<rank>`` and ``hydra.output_subdir=null``. In a
      multirun that command holds ``-m`` and every sweep value (each rank would start a sweep of
      its own) and ``run.dir`` is not the job's directory, so both are set here for the job;
    - the launcher leaves ``MASTER_PORT``, ``LOCAL_RANK``, ... in this process's environment
      (with ``LOCAL_RANK`` set, the next job's Trainer takes its ranks for started elsewhere and
      starts none) and the process group stays initialized: both are undone after a sweep job.

    Delete this once Lightning lets the re-launch command be chosen.

    Args:
        run_dir: the job's run directory (Hydra's ``runtime.output_dir``).
        in_sweep: whether this job is one of a multirun.
    """
    hydra = HydraConfig.get()
    with read_write(hydra.run):
        hydra.run.dir = str(run_dir)
    argv = list(sys.argv)
    environment = {key: os.environ.get(key) for key in DDP_ENVIRONMENT}
    if in_sweep:  # this job's own overrides, no -m and no other sweep values
        sys.argv = [sys.argv[0], *hydra.overrides.task]
    try:
        yield
    finally:
        sys.argv = argv
        if in_sweep:
            for key, value in environment.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            distributed = sys.modules.get("torch.distributed")
            if distributed is not None and distributed.is_initialized():
                distributed.destroy_process_group()
