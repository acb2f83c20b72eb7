"""The names of a run directory's files and of what they record, declared once.

A run directory holds ``.hydra/`` (what it was trained with; each ``resume=`` adds
``.hydra/resumes/<n>/``), ``checkpoints/`` (the best and ``last.ckpt``), ``tensorboard/``,
``report/``, ``train.log`` and, written last, ``metrics.json``: its presence marks a finished
run, completed or failed (:data:`STATUSES`). ``.lock`` is held by the one process writing the
directory (``rundir/lock.py``). The leaderboard, eval and the guards read these names from here.
"""

from __future__ import annotations

from pathlib import Path

CHECKPOINTS = "checkpoints"
LAST = Path(CHECKPOINTS) / "last.ckpt"
METRICS = "metrics.json"
REPORT_DIR = "report"
#: what lightcnn.predict writes (beside a predictions.csv)
PREDICTIONS = "predictions.json"

#: ``metrics.json``'s ``status``: every job writes one, a failed job too (with its ``error``)
COMPLETED, FAILED = "completed", "failed"
STATUSES = (COMPLETED, FAILED)

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
OUTCOMES = (RUNNING, COMPLETED, INTERRUPTED, FAILED, KILLED)
