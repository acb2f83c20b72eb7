"""One writer per directory: the process that writes a run (a sweep, an eval or predict folder)
holds an OS lock on the folder's ``.lock`` file for as long as it writes.

The lock is ``fcntl.flock``: the operating system releases it when its process ends, however it
ends (SIGKILL, out of memory, a crash), so a killed run never blocks a later ``resume=`` and
there is no stale lock to remove by hand. The file holds a small record of its holder (pid,
host, start time, command), which a refused second writer names. The file itself stays after
the end: removing it would let two processes lock two different files of the same name.

File systems without locks: NFS honours ``flock`` between hosts only with lock support (NFSv4,
or NFSv3 with ``lockd``); mounted with ``nolock`` a lock holds between the processes of one
host only, and two hosts may both write a run directory. A file system that refuses locks
(``ENOLCK``, ``EOPNOTSUPP``) gets one warning line, and the run writes without the lock.
No Lightning here.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import json
import os
import socket
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from lightcnn.core.errors import RunDirError
from lightcnn.rundir.layout import LOCK

#: errors of a file system that has no locks (NFS mounted ``nolock`` may give ENOLCK)
NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
#: how long a folder whose holder died stays locked by its forked children (data-loader workers
#: notice a dead parent within 5 s) before it counts as held by a live process
ORPHANS_EXIT_S = 15.0


class DirectoryInUseError(RunDirError):
    """Another live process holds the folder's lock: it is writing there now."""


class DirectoryLock:
    """This process's hold on a folder; released by :meth:`release` or when the process ends.

    Args:
        folder: the locked folder.
        descriptor: the open, locked ``.lock`` file (None where the file system has no locks).
    """

    def __init__(self, folder: Path, descriptor: int | None) -> None:
        self.folder = folder
        self.descriptor = descriptor
        atexit.register(self.release)  # a job that exits with an error: its record emptied too

    def release(self) -> None:
        """Empty the holder record and unlock (closing the file unlocks it)."""
        if self.descriptor is None:
            return
        os.ftruncate(self.descriptor, 0)
        os.close(self.descriptor)
        self.descriptor = None

    def __enter__(self) -> DirectoryLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold(folder: Path, hint: str) -> DirectoryLock:
    """Lock ``folder`` for this process (created if needed) and record the holder.

    Args:
        folder: the run, sweep, eval or predict folder.
        hint: what a refused user can do, ending the error line.

    Raises:
        DirectoryInUseError: another live process holds it.
    """
    path = folder / LOCK
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise RunDirError(f"cannot write {path} ({error.strerror or error})") from None
    try:
        _lock(descriptor, fcntl.LOCK_EX, folder, hint)
    except OSError as error:
        os.close(descriptor)
        if error.errno not in NO_LOCKS:
            raise RunDirError(f"cannot lock {path} ({error.strerror or error})") from None
        print(
            f"lightcnn: warning: {folder} is on a file system without file locks "
            f"({error.strerror}): nothing keeps a second process from writing it",
            file=sys.stderr,
            flush=True,
        )
        return DirectoryLock(folder, None)
    except DirectoryInUseError:
        os.close(descriptor)
        raise
    record = json.dumps(holder_record(), sort_keys=True) + "\n"
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, record.encode(), 0)
    return DirectoryLock(folder, descriptor)


def check_not_held(folder: Path, hint: str) -> None:
    """Refuse (one line) a folder another live process is writing; write nothing.

    Args:
        folder: the folder about to be written.
        hint: what a refused user can do, ending the error line.
    """
    path = folder / LOCK
    if not path.is_file():
        return
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return  # unreadable: hold() says why when it tries
    try:
        _lock(descriptor, fcntl.LOCK_SH, folder, hint)  # shared: checks never exclude checks
    except OSError:
        pass  # no locks here: hold() warns
    finally:
        os.close(descriptor)  # unlocks


def _lock(descriptor: int, mode: int, folder: Path, hint: str) -> None:
    """Take the lock without waiting, or raise :class:`DirectoryInUseError` naming the holder.

    A holder that died on this host leaves its lock to its forked children for a few seconds
    (data-loader workers): then the lock is waited for, up to :data:`ORPHANS_EXIT_S`.
    """
    deadline = time.monotonic() + ORPHANS_EXIT_S
    while True:
        try:
            fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = read_holder(folder)
            if not _died_here(holder) or time.monotonic() > deadline:
                raise DirectoryInUseError(
                    f"{folder} is being written by another lightcnn process "
                    f"({describe(holder)}); {hint}"
                ) from None
            time.sleep(0.2)


def holder_record() -> dict[str, Any]:
    """What the lock file says of this process."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
    }


def read_holder(folder: Path) -> dict[str, Any]:
    """The holder record in ``folder``'s lock file (empty while it is being written)."""
    try:
        record = json.loads((folder / LOCK).read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def describe(holder: dict[str, Any]) -> str:
    """``pid 4242 on host gpu1, started 2025-01-31T10:00:00+01:00``."""
    if not holder:
        return "starting now"
    return (
        f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, "
        f"started {holder.get('started', '?')}"
    )


def _died_here(holder: dict[str, Any]) -> bool:
    """Whether the holder ran on this host and is gone (its children may still hold the lock)."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False
