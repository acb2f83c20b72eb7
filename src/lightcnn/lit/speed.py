"""Speed workarounds for Lightning internals, in one place, each with its measurement.

A LeNet-5 step on a 2-core CPU takes about 2.2 ms, and Lightning spends about 130 hook
dispatches around it; per-call overhead inside those dispatches shows in the epoch time
(docs/benchmarks.md: cProfile over 200 steps counted about 3,200 Python calls per step against
about 150 for a hand-written loop). The two stand-ins below removed about 1,000 calls per step:
the training-batches ratio to the plain loop went from 1.37 to 1.15 (back-to-back check at
``--limit 25600``). Neither changes what runs; both can go when Lightning's own dispatch gets
cheaper.
"""

from __future__ import annotations

import contextlib
from typing import Any

import lightning as L
from lightning.pytorch.profilers import PassThroughProfiler
from lightning.pytorch.trainer import call

_NO_OP = contextlib.nullcontext()


class NullProfiler(PassThroughProfiler):
    """Lightning's default pass-through profiler, with ``profile`` returning one shared no-op
    context instead of building a generator context manager per hook call.

    The run uses it unless ``trainer.profiler`` names a real profiler (``simple``, ...).
    """

    def profile(self, action_name: str) -> contextlib.nullcontext:  # type: ignore[override]
        return _NO_OP


class PlainHookName:
    """Mixin for a LightningModule: ``_current_fx_name`` set as a plain attribute.

    Lightning sets it around every hook call (about 50 times a step); it is a string, so
    ``nn.Module.__setattr__``'s parameter / buffer / submodule checks are skipped for it.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)


_call_callback_hooks = call._call_callback_hooks  # Lightning's own, called for everything else


def _skip_unused_callback_hooks(
    trainer: L.Trainer, hook_name: str, *args: Any, **kwargs: Any
) -> None:
    """Lightning's ``_call_callback_hooks``, returning at once when no callback of a trainer
    that runs :class:`NullProfiler` overrides ``hook_name``.

    Lightning calls every callback at every hook; four of the eight hooks of a training step
    (``on_before_backward``, ``on_after_backward``, ``on_before_optimizer_step``,
    ``on_before_zero_grad``) have no callback of a lightcnn run behind them, and each call of
    the no-op base method costs about nine Python calls per callback. What runs is unchanged;
    a trainer with a real profiler (whose report lists every hook) goes the usual way.
    """
    if isinstance(trainer.profiler, NullProfiler):
        base = getattr(L.Callback, hook_name, None)
        if base is not None and all(
            getattr(type(callback), hook_name, base) is base for callback in trainer.callbacks
        ):
            return
    _call_callback_hooks(trainer, hook_name, *args, **kwargs)


def skip_unused_callback_hooks() -> None:
    """Route Lightning's callback dispatch through :func:`_skip_unused_callback_hooks` (once per
    process; trainers without :class:`NullProfiler` are not affected)."""
    call._call_callback_hooks = _skip_unused_callback_hooks
