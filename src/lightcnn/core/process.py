"""The end of a command-line process."""

from __future__ import annotations

import gc


def freeze_for_exit() -> None:
    """Exempt every object alive now from the interpreter's garbage collections at exit.

    When Python exits it collects garbage while tearing the modules down; in a process that
    imported torch, Lightning, Hydra and matplotlib (~500,000 tracked objects) those
    collections took 1.6-1.9 s of a LeNet-5 run's exit on the project's 2-core machine
    (py-spy ``--native``: ``gc_collect_main``), 0.3 s with the objects frozen
    (docs/benchmarks.md). Called by the command-line entry points once their work is written
    and their files closed: objects are still freed by reference counting, and only cycles
    left for the collector are not (the process is ending). Never call it in a process that
    goes on working: what is frozen is never collected.
    """
    gc.freeze()
