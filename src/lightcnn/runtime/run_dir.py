"""The run directory: its layout, atomic JSON, and the guards that keep a record true.

A run directory holds ``.hydra/`` (what it was trained with), ``checkpoints/`` (best and
``last.ckpt``), ``tensorboard/``, ``metrics.json`` (written last: its presence marks a finished
run) and ``train.log``. No Lightning here: the Hydra callback uses these guards before a job
starts.
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
            f"{run_dir} already holds a finished run ({METRICS}); choose another "
            f"hydra.run.dir, or continue it with resume={run_dir}"
        )


def discard_unused_run_dir(run_dir: Path) -> None:
    """Remove a run directory that a failed start left with nothing but its config and log."""
    if not run_dir.is_dir() or (run_dir / METRICS).exists():
        return
    allowed = {".hydra", "train.log", "tensorboard", "csv", "checkpoints"}
    if any(entry.name not in allowed for entry in run_dir.iterdir()):
        return
    if any((run_dir / "checkpoints").glob("*")):
        return
    shutil.rmtree(run_dir)
