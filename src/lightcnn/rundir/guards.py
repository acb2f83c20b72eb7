"""The guards that keep a run directory's record true.

A finished run (its ``metrics.json``, see :mod:`.layout`) or sweep is never written over, nor
is a run that stopped without finishing (``resume=`` continues it); a folder that cannot be
written is refused before Hydra creates it; a start that failed before training leaves nothing
behind; what a killed write left (``.partial`` files) is removed at the next start. No
Lightning here: the Hydra callback runs these guards before a job starts. (A run being written
by another process is refused by its lock: ``rundir/lock.py``.)
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from lightcnn.core.errors import ConfigError, RunDirError
from lightcnn.core.io import PARTIAL
from lightcnn.rundir.layout import (
    CHECKPOINTS,
    COMPLETED,
    LAST,
    LOCK,
    METRICS,
    PREDICTIONS,
    RECORD,
    REPORT_DIR,
    RESUMES,
    job_number,
)


def ensure_writable(folder: Path, option: str) -> None:
    """Create ``folder`` and write a probe file in it; one clear error when that fails.

    Args:
        folder: the run or sweep directory Hydra is about to use.
        option: the config keys that place it, for the message.
    """
    probe = folder / ".lightcnn-write-test"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or str(error)
        raise RunDirError(
            f"cannot write the run directory {folder} ({reason}); choose a writable folder "
            f"with {option}"
        ) from None


def check_run_dir(run_dir: Path, resuming: bool) -> None:
    """Refuse to write a new run into a directory that holds a finished one, or one that
    stopped before its end (interrupted or killed: its ``last.ckpt`` without ``metrics.json``).

    Args:
        run_dir: the run directory Hydra is about to use.
        resuming: whether this run continues the one in ``run_dir``.
    """
    if resuming:
        return
    if (run_dir / METRICS).is_file():
        raise ConfigError(
            f"{run_dir} already holds a finished run ({METRICS}: {run_status(run_dir)}); choose "
            f"another hydra.run.dir, or continue it with resume={run_dir}"
        )
    if (run_dir / LAST).is_file():
        raise ConfigError(
            f"{run_dir} holds a run that stopped before its end ({LAST} but no {METRICS}: "
            f"interrupted or killed); continue it with resume={run_dir}, or choose another "
            "hydra.run.dir"
        )


def check_sweep_dir(sweep_dir: Path, continues_study: bool = False) -> None:
    """Refuse to start a sweep in a folder whose jobs have finished: the new jobs would take
    their numbers, and so their directories. An Optuna search continuing the study stored
    there is the exception: its new trials take the numbers after the old ones.

    Args:
        sweep_dir: the sweep directory Hydra is about to use.
        continues_study: whether the sweep continues the Optuna study of that folder.
    """
    if not sweep_dir.is_dir() or continues_study:
        return
    finished = [p.name for p in sweep_dir.iterdir() if (p / METRICS).is_file()]
    numbers = sorted(n for n in map(job_number, finished) if n is not None)
    done = [str(n) for n in numbers] + sorted(n for n in finished if job_number(n) is None)
    if done:
        jobs = ", ".join(done[:5]) + (", ..." if len(done) > 5 else "")
        raise ConfigError(
            f"{sweep_dir} already holds a sweep whose jobs finished ({jobs}); choose another "
            f"hydra.sweep.dir, or leave it out: every sweep gets a folder of its own"
        )


def run_status(run_dir: Path) -> str | None:
    """``completed`` or ``failed`` from the run's ``metrics.json``; None while there is none.

    A ``metrics.json`` without ``status`` (written before failures were recorded) is a
    completed run.
    """
    path = run_dir / METRICS
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text()).get("status", COMPLETED)
    except (OSError, ValueError):
        return COMPLETED  # unreadable, but written last: the run got to its end


def is_unused_run_dir(run_dir: Path) -> bool:
    """Whether a failed start left ``run_dir`` with nothing but its config, logs (``train.log``,
    ``eval.log``...) and empty logger folders: no checkpoint, no result."""
    if not run_dir.is_dir() or (run_dir / METRICS).exists():
        return False
    allowed = {RECORD.name, "tensorboard", "csv", CHECKPOINTS, LOCK}
    if any(entry.name not in allowed and entry.suffix != ".log" for entry in run_dir.iterdir()):
        return False
    return not any((run_dir / CHECKPOINTS).glob("*"))


def discard_unused_run_dir(run_dir: Path) -> None:
    """Remove a run directory that a failed start left with nothing but its config and log
    (and the folder holding it, when that is left empty: ``<run>/eval/``)."""
    if not is_unused_run_dir(run_dir):
        return
    shutil.rmtree(run_dir)
    if run_dir.parent.name == "eval" and not any(run_dir.parent.iterdir()):
        run_dir.parent.rmdir()


def remove_partials(run_dir: Path) -> list[Path]:
    """Remove the ``.partial`` files a killed write left in a run directory's own folders (not
    in its ``eval/`` folders: an evaluation writes those, with a lock of its own).

    Call it holding the run directory's lock: then no write of this run is under way.

    Args:
        run_dir: the run directory.

    Returns:
        The removed files.
    """
    folders = [run_dir, run_dir / CHECKPOINTS, run_dir / RECORD, run_dir / REPORT_DIR]
    folders += sorted((run_dir / RESUMES).glob("*"))
    removed = sorted(p for folder in folders for p in folder.glob(f"*{PARTIAL}") if p.is_file())
    for path in removed:
        path.unlink()
    return removed


def check_result_folder(folder: Path, command: str) -> None:
    """Refuse a folder that holds an earlier result, or that cannot be created.

    Args:
        folder: the job's folder (``hydra.run.dir``).
        command: ``eval`` or ``predict``, for the message.
    """
    if any((folder / name).is_file() for name in (METRICS, PREDICTIONS)):
        raise ConfigError(
            f"{folder} already holds results of lightcnn.{command}; choose another "
            "hydra.run.dir (by default each run gets a new, timestamped folder)"
        )
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not os.access(existing, os.W_OK):
        raise ConfigError(
            f"{folder} cannot be created: {existing} is not writable; write the {command} "
            "result elsewhere with hydra.run.dir=<folder>"
        )
