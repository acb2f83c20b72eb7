"""DDP inside Hydra runs and sweeps: one run directory per job, fresh ranks for every job.

Lightning's ``ddp`` strategy starts ranks 1..n-1 by re-launching the script (its subprocess
launcher) with rank 0's command line plus ``hydra.run.dir=<HydraConfig run.dir>`` and
``hydra.output_subdir=null``. That is right for a single run and wrong in a multirun, where the
command line holds ``-m`` and every sweep value (each rank would start a whole sweep of its own)
and ``run.dir`` is not the job's directory (each rank would create another one). After a DDP job
the launching process also keeps its process group and the ``MASTER_PORT``, ``LOCAL_RANK``, ...
variables, so the next job of a sweep would neither start its ranks nor reach them.
:func:`ddp_job_scope` fixes all three around one job. No Lightning here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import read_write

# what Lightning's launchers set in the launching process for its ranks
DDP_ENVIRONMENT = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


def global_rank() -> int:
    """This process's rank: Lightning's once it is loaded (its strategy sets it, from the
    launcher or from SLURM), else 0 (nothing has been launched yet)."""
    rank_zero = sys.modules.get("lightning.fabric.utilities.rank_zero")
    return int(getattr(rank_zero.rank_zero_only, "rank", 0)) if rank_zero else 0


@contextmanager
def ddp_job_scope(run_dir: Path, in_sweep: bool) -> Iterator[None]:
    """Around one job: ranks that Lightning re-launches run exactly this job in ``run_dir``;
    afterwards, in a sweep, the launching process is as before the job.

    Args:
        run_dir: the job's run directory (Hydra's ``runtime.output_dir``).
        in_sweep: whether this job is one of a multirun.
    """
    hydra = HydraConfig.get()
    with read_write(hydra.run):  # what Lightning passes to the other ranks as hydra.run.dir
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
