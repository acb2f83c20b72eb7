"""Atomic writes: a reader never sees half a file, and a write that fails leaves none.

Every file lightcnn writes for a reader — checkpoints, run records, ``metrics.json``, reports,
predictions, leaderboards — goes through :func:`atomic_path`: it is written to
``<name>.partial`` beside its place, then renamed over it (``os.replace`` is atomic on POSIX and
Windows).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lightcnn.core.errors import RunDirError

#: the suffix of a file being written; a killed write can leave one behind, never a torn file
PARTIAL = ".partial"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield the ``.partial`` path to write ``path`` through; rename it into place when the block
    succeeds, remove it when the block fails.

    Args:
        path: the file's final place (its folder is created).
    """
    path = Path(path)
    partial = path.with_name(path.name + PARTIAL)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically; one :class:`RunDirError` when that fails.

    Args:
        path: the file.
        text: its whole content.
    """
    try:
        with atomic_path(path) as partial:
            partial.write_text(text)
    except OSError as error:  # a full disk, a read-only or removed folder
        raise RunDirError(f"could not write {path} ({error.strerror or error})") from error


def write_json(path: str | Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically (see :func:`write_text`).

    Args:
        path: the file.
        payload: anything ``json.dumps`` takes.
    """
    write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
