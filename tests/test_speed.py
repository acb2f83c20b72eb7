"""lit/speed.py's workarounds change how Lightning dispatches, never what runs."""

from __future__ import annotations

from typing import Any

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightcnn.lit import speed
from lightcnn.lit.classifier import ImageClassifier


class CountHooks(L.Callback):
    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def on_after_backward(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._count("on_after_backward")

    def on_before_zero_grad(self, *args: Any) -> None:
        self._count("on_before_zero_grad")


def fit(profiler: Any, callbacks: list[L.Callback]) -> None:
    data = TensorDataset(torch.randn(12, 1, 28, 28), torch.randint(0, 10, (12,)))
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        callbacks=callbacks,
        profiler=profiler,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(ImageClassifier(), DataLoader(data, batch_size=4))  # 3 steps


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hooks that reach Lightning's own dispatch (after the skip)."""
    seen: list[str] = []
    original = speed._call_callback_hooks

    def record(trainer: L.Trainer, hook_name: str, *args: Any, **kwargs: Any) -> None:
        seen.append(hook_name)
        original(trainer, hook_name, *args, **kwargs)

    monkeypatch.setattr(speed, "_call_callback_hooks", record)
    speed.skip_unused_callback_hooks()
    return seen


def test_hooks_no_callback_overrides_are_skipped_and_the_others_run(dispatched) -> None:
    counter = CountHooks()
    fit(speed.NullProfiler(), [counter])
    assert counter.calls == {"on_after_backward": 3, "on_before_zero_grad": 3}
    assert dispatched.count("on_after_backward") == 3  # overridden: dispatched
    assert "on_before_backward" not in dispatched  # no callback has it: skipped
    assert "on_before_optimizer_step" not in dispatched


def test_a_real_profiler_sees_every_hook(dispatched) -> None:
    fit("simple", [CountHooks()])
    assert dispatched.count("on_before_backward") == 3
