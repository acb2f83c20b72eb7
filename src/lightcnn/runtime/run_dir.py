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

from lightcnn.errors import ConfigError

LAST = Path("checkpoints") / "last.ckpt"
METRICS = "metrics.json"


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as JSON atomically: a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


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
    """Remove a run directory that a failed start left with nothing but its config and log
    (and the folder holding it, when that is left empty: ``<run>/eval/``)."""
    if not run_dir.is_dir() or (run_dir / METRICS).exists():
        return
    allowed = {".hydra", "tensorboard", "csv", "checkpoints"}
    if any(entry.name not in allowed and entry.suffix != ".log" for entry in run_dir.iterdir()):
        return
    if any((run_dir / "checkpoints").glob("*")):
        return
    shutil.rmtree(run_dir)
    if run_dir.parent.name == "eval" and not any(run_dir.parent.iterdir()):
        run_dir.parent.rmdir()
