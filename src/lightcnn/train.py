"""Train entry point: ``python -m lightcnn.train [overrides]`` or ``lightcnn-train``.

Fits the configured model, validates and tests its best checkpoint, and writes the run
directory: ``.hydra/`` (composed config), ``checkpoints/``, ``tensorboard/``, ``metrics.json``.
Ctrl-C or SIGTERM stops at the next batch and says how to resume (``resume=<run dir>``).
The path of one run through the code is in docs/architecture.md.
"""

from __future__ import annotations

from lightcnn.core import collector, teardown

collector.pause_if_main(__name__)  # no garbage collections while the libraries load
teardown.skip_if_main(__name__)  # once done, exit without tearing the libraries down

import logging
import sys
from typing import Any

import hydra
from omegaconf import DictConfig

from lightcnn.config import CONF_DIR
from lightcnn.config.validation import check_train_config
from lightcnn.core.errors import EXIT_USER_ERROR, LightcnnError, report
from lightcnn.launch.console import log_to_file
from lightcnn.launch.job import Job
from lightcnn.rundir.resume import expand_resume

log = logging.getLogger("lightcnn")


def train(cfg: DictConfig, checked: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the config, then fit, validate and test the best checkpoint
    (:func:`lightcnn.launch.fit.fit_and_test`).

    Args:
        cfg: the composed ``train`` config.
        checked: whether ``cfg`` was checked already (a single run from the command line is
            checked by the Hydra callback before its directory exists); each config is checked
            once.
    """
    if not checked:
        check_train_config(cfg)
    from lightcnn.launch.fit import fit_and_test  # Lightning loads here, after the checks

    collector.resume()  # everything is imported (lightcnn/core/collector.py)
    return fit_and_test(cfg)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    # A failed job writes its metrics.json; in a sweep it returns the worst value so that the
    # other jobs run and the leaderboard is written (launch/job.py). Only rank 0 speaks.
    job = Job.current(cfg)
    try:
        with job.scope(cfg):
            # a sweep job's own values are known only now; a single run's were checked before
            # its directory was created (launch/hydra_callbacks.py:CheckBeforeRun)
            metrics, _ = train(cfg, checked=not job.in_sweep)
    except LightcnnError as error:
        job.record_failure(error)
        if job.in_sweep:
            if job.rank == 0:
                log.error("Job %s failed (the sweep goes on): %s", job.name, error)
            return job.worst
        if job.rank == 0:
            log_to_file(log, logging.ERROR, str(error))  # the console gets the one line below
            report(error)
        # other DDP ranks exit quietly: a failed rank makes Lightning kill rank 0 at once
        sys.exit(EXIT_USER_ERROR if job.rank == 0 else 0)
    except Exception as error:
        if job.stopped_by_scheduler(error):
            raise  # no record: the run is resumable, like one stopped by Ctrl-C or SIGTERM
        job.record_failure(error)
        if not job.in_sweep:
            raise
        log.exception("Job %s failed (the sweep goes on)", job.name)
        return job.worst
    return job.objective(metrics)


def main() -> float | None:
    """Console entry point: expand ``resume=<run dir>``, then run Hydra."""
    try:
        sys.argv = expand_resume(sys.argv)
    except LightcnnError as error:
        report(error)
        sys.exit(EXIT_USER_ERROR)
    return _hydra_main()


if __name__ == "__main__":
    main()
    teardown.finished()
