"""The names of a run directory's files and of what they record, declared once.

A run directory holds ``.hydra/`` (what it was trained with; each ``resume=`` adds
``.hydra/resumes/<n>/``), ``checkpoints/`` (the best and ``last.ckpt``), ``tensorboard/``,
``report/``, ``train.log`` and, written last, ``metrics.json``: its presence marks a finished
run, completed, failed or pruned (:data:`STATUSES`). ``.lock`` is held by the one process
writing the directory (``rundir/lock.py``). The leaderboard, eval and the guards read these
names from here, and so do the names of a sweep's job folders (:func:`job_dir_name`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from pathlib import Path

CHECKPOINTS = "checkpoints"
LAST = Path(CHECKPOINTS) / "last.ckpt"
METRICS = "metrics.json"
REPORT_DIR = "report"
#: what lightcnn.predict writes (beside a predictions.csv)
PREDICTIONS = "predictions.json"

#: ``metrics.json``'s ``status``: every job writes one, a failed job too (with its ``error``);
#: a trial of an Optuna search that its pruner stopped early is ``pruned`` (with where)
COMPLETED, FAILED, PRUNED = "completed", "failed", "pruned"
STATUSES = (COMPLETED, FAILED, PRUNED)

#: the file locked by the process that writes a run, sweep or eval/predict folder
LOCK = ".lock"

#: the final metrics a run reports (``metrics.json``, the leaderboard): what a sweep can optimize
REPORTED_METRICS = ("val/acc", "val/loss", "test/acc", "test/loss")

#: an attempt's record: attempt 0 (the run itself) in ``.hydra/``, continuation n in
#: ``.hydra/resumes/<n>/``, each with its ``attempt.json``
RECORD = Path(".hydra")
RESUMES = RECORD / "resumes"
ATTEMPT = "attempt.json"

#: an attempt's ``outcome``: ``running`` until it records its end; an attempt found still
#: ``running`` by a later ``resume=`` ended without a record (SIGKILL, out of memory, power
#: loss): that resume records it as ``killed``
RUNNING, INTERRUPTED, KILLED = "running", "interrupted", "killed"
OUTCOMES = (RUNNING, COMPLETED, INTERRUPTED, FAILED, PRUNED, KILLED)

#: an Optuna search's study, by default in its sweep folder (``lightcnn.sweeps.study``)
STUDY_FILE = "optuna.db"

#: the longest job folder name: the job number, then the swept values, cut at this length
JOB_NAME_LIMIT = 96
#: characters a job folder name keeps; others → "-". Not "=" nor ",": Hydra's override parser
#: refuses "=" in a value and reads "," as a sweep, so resume=<job dir>, ckpt_path=<job
#: dir>/... and the DDP re-launch's hydra.run.dir=<job dir> would fail; nor what a shell or
#: a file system treats specially
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
#: between a swept key and its value in a job folder's name
KEY_VALUE = "-"


def job_dir_name(number: int | str, overrides: Iterable[str], keys: Collection[str] | None) -> str:
    """A sweep job's folder name: its number, then its swept values, ``3_model.pool-max_seed-1``.

    The number leads and keys the job (the leaderboard, ``metrics.json``); the values make the
    folder, and so a TensorBoard run, readable. Long floats are cut to 4 significant digits;
    a name over :data:`JOB_NAME_LIMIT` names each key by its last part (``pool-max``) when
    those differ, and is then cut; unsafe characters become ``-``.

    Args:
        number: the job's number in the sweep.
        overrides: the job's command-line overrides (Hydra's ``overrides.task``).
        keys: the swept keys to show (None: every override).
    """
    values: dict[str, str] = {}
    for override in sorted(str(item) for item in overrides):
        key, sep, value = override.lstrip("+~").partition("=")
        if sep and (keys is None or key in keys):
            values[key] = short_number(value)

    def joined(names: Iterable[str]) -> str:
        pairs = zip(names, values.values(), strict=True)
        items = (f"{name}{KEY_VALUE}{value}" for name, value in pairs)
        return _UNSAFE.sub("-", "_".join([str(number), *items]))

    name = joined(values)
    last_parts = [key.rsplit(".", 1)[-1] for key in values]
    if len(name) > JOB_NAME_LIMIT and len(set(last_parts)) == len(last_parts):
        name = joined(last_parts)
    return name[:JOB_NAME_LIMIT].rstrip("_-")


def job_number(folder_name: str) -> int | None:
    """The job number a job folder's name starts with (``3`` of ``3_model.pool-max``)."""
    head = folder_name.partition("_")[0]
    return int(head) if head.isdigit() else None


def short_number(value: str) -> str:
    """``0.0010134344267417026`` → ``0.001013``: a sampled float, short enough for a name."""
    try:
        number = float(value)
    except ValueError:
        return value
    return f"{number:.4g}" if "." in value and len(value) > 8 else value
