"""The process clock: seconds since this process started, start-up included.

Time-to-accuracy in ``metrics.json`` counts from the process's own start (the interpreter,
imports and config composition are part of what a user waits for); a job of a sweep that shares
its process with other jobs counts from its own start (:func:`start_clock`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

IMPORT_TIME = time.time()


def process_start_time() -> float:
    """The Unix time this process started (Linux ``/proc``), else the time of this import.

    The process's own start counts the interpreter, imports and config composition, which a
    user waits for as much as for the epochs.
    """
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        age = uptime - ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - age
    except (OSError, ValueError, IndexError):
        return IMPORT_TIME


PROCESS_START = process_start_time()
_clock_start = PROCESS_START


def start_clock(at: float | None = None) -> None:
    """Count :func:`seconds_since_start` from ``at`` (now by default) instead of the process's
    start: each job of a sweep that runs several jobs in one process has its own clock.

    Args:
        at: a Unix time; None: now.
    """
    global _clock_start
    _clock_start = time.time() if at is None else at


def seconds_since_start() -> float:
    """Wall-clock seconds since this process started (or since :func:`start_clock`)."""
    return time.time() - _clock_start
