"""The cyclic garbage collector, paused while a command line imports its libraries.

Importing torch, torchvision, Lightning, Hydra, torchmetrics and matplotlib makes ~500,000
long-lived objects, and the collector makes a full pass over the whole heap each time it has
grown by a quarter: seven passes, 1.35 s of the default run's start on a slow 2-core CPU, where
the plain script of ``benchmarks/`` pays 0.67 s (``gc.callbacks``, docs/benchmarks.md).
So ``python -m lightcnn.train`` (and ``.eval``, ``.predict``) pauses it before its first
import (:func:`pause_if_main`) and resumes it once its imports are done and before it builds
anything of its own (:func:`resume`): what the imports made is frozen
(``gc.freeze``: left out of every later pass) and unfrozen at exit, so that the interpreter's
last collection still frees its cycles (triton's nanobind bindings print a screen of "leaked"
lines at exit otherwise).

The data, model and trainer of a run are made after :func:`resume`: collected as usual, also
between the jobs of a sweep that share one process. Imported as a library (a notebook, the
tests, ``lightcnn-train``'s console script), nothing is paused and :func:`resume` does nothing.
"""

from __future__ import annotations

import atexit
import gc


def pause_if_main(module_name: str) -> None:
    """Stop cyclic collections until :func:`resume` when ``module_name`` is ``__main__``.

    Args:
        module_name: the calling module's ``__name__``: ``__main__`` when it runs as
            ``python -m``.
    """
    if module_name == "__main__":
        gc.disable()


def resume() -> None:
    """Collect again, leaving what the imports made (and their ~270,000 objects of garbage,
    12 MiB) out of every pass until the exit.

    Does nothing when collections are not paused (a library user, the second job of a sweep).
    """
    if gc.isenabled():
        return
    gc.freeze()
    atexit.register(gc.unfreeze)  # the interpreter's last collection sees everything again
    gc.enable()
