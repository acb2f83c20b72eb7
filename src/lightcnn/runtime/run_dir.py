"""The run directory: its layout, atomic JSON, and the guards that keep a record true.

A run directory holds ``.hydra/`` (what it was trained with), ``checkpoints/`` (best and
``last.ckpt``), ``tensorboard/``, ``metrics.json`` (written last: its presence marks a finished
run, completed or failed, see :data:`STATUSES`) and ``train.log``. No Lightning here: the Hydra
callback uses these guards before a job starts.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from lightcnn.errors import ConfigError, RunDirError

LAST = Path("checkpoints") / "last.ckpt"
METRICS = "metrics.json"
#: ``metrics.json``'s ``status``: every job writes one, a failed job too (with its ``error``)
COMPLETED, FAILED = "completed", "failed"
STATUSES = (COMPLETED, FAILED)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as JSON atomically: a reader never sees a half-written file."""
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise RunDirError(f"could not write {path} ({error.strerror or error})") from error


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
    """Refuse to write a new run into a directory that holds a finished one.

    Args:
        run_dir: the run directory Hydra is about to use.
        resuming: whether this run continues the one in ``run_dir``.
    """
    if not resuming and (run_dir / METRICS).is_file():
        raise ConfigError(
            f"{run_dir} already holds a finished run ({METRICS}: {run_status(run_dir)}); choose "
            f"another hydra.run.dir, or continue it with resume={run_dir}"
        )


def check_sweep_dir(sweep_dir: Path) -> None:
    """Refuse to start a sweep in a folder whose jobs have finished: the new jobs would take
    their numbers, and so their directories.

    Args:
        sweep_dir: the sweep directory Hydra is about to use.
    """
    if not sweep_dir.is_dir():
        return
    done = sorted(p.name for p in sweep_dir.iterdir() if (p / METRICS).is_file())
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


def write_failure_record(
    run_dir: Path, error: BaseException, seed: Any, wall_time_s: float
) -> None:
    """Write a failed run's ``metrics.json``: status, error, and how far it got.

    Sweeps read every job's result from disk (the leaderboard, launchers that run jobs in other
    processes), so a failed job leaves its record like a completed one.

    Args:
        run_dir: the run directory.
        error: what stopped the run.
        seed: the run's seed.
        wall_time_s: seconds from the start of the process to the failure.
    """
    last = run_dir / LAST
    write_json(
        run_dir / METRICS,
        {
            "status": FAILED,
            "error": " ".join(str(error).split()) or type(error).__name__,
            "error_type": type(error).__name__,
            "seed": seed,
            "run_dir": str(run_dir),
            "last_checkpoint": str(last) if last.is_file() else None,
            "wall_time_s": round(wall_time_s, 2),
        },
    )


def is_unused_run_dir(run_dir: Path) -> bool:
    """Whether a failed start left ``run_dir`` with nothing but its config, logs (``train.log``,
    ``eval.log``...) and empty logger folders: no checkpoint, no result."""
    if not run_dir.is_dir() or (run_dir / METRICS).exists():
        return False
    allowed = {".hydra", "tensorboard", "csv", "checkpoints"}
    if any(entry.name not in allowed and entry.suffix != ".log" for entry in run_dir.iterdir()):
        return False
    return not any((run_dir / "checkpoints").glob("*"))


def discard_unused_run_dir(run_dir: Path) -> None:
    """Remove a run directory that a failed start left with nothing but its config and log
    (and the folder holding it, when that is left empty: ``<run>/eval/``)."""
    if not is_unused_run_dir(run_dir):
        return
    shutil.rmtree(run_dir)
    if run_dir.parent.name == "eval" and not any(run_dir.parent.iterdir()):
        run_dir.parent.rmdir()
