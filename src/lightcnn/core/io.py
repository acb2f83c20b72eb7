"""Atomic writes: a reader never sees half a file, and a write that fails leaves none.

Every file lightcnn writes for a reader — checkpoints, run records, ``metrics.json``, reports,
predictions, leaderboards — goes through :func:`atomic_path`: it is written to
``<name>.<pid>.partial`` beside its place (one per process), flushed to the disk, then renamed
over it (``os.replace`` is atomic on POSIX and Windows) and the rename flushed too, so that
neither a kill nor a power loss leaves a torn or renamed-but-empty file. A killed write can
leave its ``.partial``; the next start of the run directory removes it
(``rundir/guards.py:remove_partials``).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lightcnn.core.errors import RunDirError

#: the suffix of a file being written; a killed write can leave one behind, never a torn file
PARTIAL = ".partial"

#: TEST HOOK (tests/test_crash_consistency.py), never set by users: ``<glob>[@n]`` makes the
#: process SIGKILL itself inside the n-th (default: first) write of a path matching ``<glob>``,
#: after its ``.partial`` is written and before the rename: a kill at the worst moment of a write
KILL_IN_WRITE = "LIGHTCNN_TEST_KILL_IN_WRITE"
_kill_matches = 0


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield the ``<name>.<pid>.partial`` path to write ``path`` through; rename it into place
    when the block succeeds, remove it when the block fails.

    Args:
        path: the file's final place (its folder is created).
    """
    path = Path(path)
    # one partial per process: writers that share a folder (an Optuna search's workers, each
    # writing the sweep's leaderboard) never write or rename each other's
    partial = path.with_name(f"{path.name}.{os.getpid()}{PARTIAL}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield partial
        _fsync(partial, os.O_RDONLY)  # the data on the disk before the name points at it
        _kill_here_for_a_test(path)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # POSIX: the rename itself on the disk (Windows has no API for it); some file systems (FUSE,
    # SMB) cannot sync a folder: the file is in place all the same
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            _fsync(path.parent, os.O_RDONLY | os.O_DIRECTORY)


def _fsync(path: Path, flags: int) -> None:
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _kill_here_for_a_test(path: Path) -> None:
    """The :data:`KILL_IN_WRITE` test hook."""
    spec = os.environ.get(KILL_IN_WRITE)
    if not spec:
        return
    pattern, _, nth = spec.partition("@")
    if fnmatch.fnmatch(str(path), pattern):
        global _kill_matches
        _kill_matches += 1
        if _kill_matches == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)


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
