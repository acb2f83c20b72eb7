"""A command line that finished its work exits without the interpreter's teardown.

Once a run has written its last file, the interpreter still tears down what torch, Lightning,
Hydra and matplotlib loaded: a last garbage collection over the imports' ~500,000 objects, then
every module's namespace, to free memory that the operating system takes back at once anyway.
On a 2-core CPU that is about 1 s of every run, sweep, eval and predict (docs/benchmarks.md).

So ``python -m lightcnn.train`` (and ``.eval``, ``.predict``) registers an exit handler before
its first import (:func:`skip_if_main`); atexit runs the last registered first, so this one
runs after those of every library imported later. By then Python has joined every non-daemon
thread and run those handlers: multiprocessing's (DataLoader workers stopped), loky's,
MLflow's. When the command line returned normally (:func:`finished`), the handler shuts
logging down (log files flushed and closed), flushes stdout and stderr, and ends the process
with ``os._exit(0)``: the status it would have had. An error, Ctrl-C or ``sys.exit`` leaves
:func:`finished` uncalled: the process exits as usual, with its own status and traceback.
Imported as a library (a notebook, the tests, ``lightcnn-train``'s console script), nothing is
registered.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys

_work_done = False


def skip_if_main(module_name: str) -> None:
    """Register the exit without teardown when ``module_name`` is ``__main__``: call it before
    importing anything that registers exit handlers of its own, so that theirs run first.

    Args:
        module_name: the calling module's ``__name__``: ``__main__`` when it runs as
            ``python -m``.
    """
    if module_name == "__main__":
        atexit.register(_exit_without_teardown)


def finished() -> None:
    """Say that the command line's work is done and written: exit with status 0, untorn."""
    global _work_done
    _work_done = True


def _exit_without_teardown() -> None:
    if not _work_done:
        return  # an error or an interrupted run: the usual exit, status and traceback
    # logging's own exit handler, registered before this one (imported above), is never reached
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None under pythonw
            stream.flush()
    os._exit(0)
