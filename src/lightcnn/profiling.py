"""Cheaper stand-ins for two things Lightning does around every hook call.

Lightning wraps each of the ~130 hook calls of a training step in ``profiler.profile(name)``
and sets ``module._current_fx_name`` twice. With its default profiler that costs a generator
context manager per call; ``_current_fx_name`` goes through ``nn.Module.__setattr__``. For a
small network on a CPU (LeNet-5: ~2 ms per step) these add up to a few percent of the step
(docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib

from lightning.pytorch.profilers import PassThroughProfiler

_NO_OP = contextlib.nullcontext()


class NullProfiler(PassThroughProfiler):
    """Lightning's default pass-through profiler, with ``profile`` returning one shared no-op
    context instead of building a generator context manager per hook call.

    Used unless ``trainer.profiler`` names a real profiler (``simple``, ``advanced``, ...).
    """

    def profile(self, action_name: str) -> contextlib.nullcontext:  # type: ignore[override]
        return _NO_OP
