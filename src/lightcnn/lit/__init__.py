"""The LightningModule (:class:`ImageClassifier`), its optimizers and schedulers by name, and the
fine-tuning policy.

:mod:`lightcnn.lit.options` and :mod:`lightcnn.lit.optim` import without Lightning (config
validation uses them); :class:`ImageClassifier` loads Lightning on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightcnn.lit.classifier import ImageClassifier


def __getattr__(name: str) -> Any:
    # imported on first use (PEP 562), so that `lightcnn.lit.options` stays Lightning-free
    if name == "ImageClassifier":
        from lightcnn.lit.classifier import ImageClassifier

        return ImageClassifier
    raise AttributeError(f"module 'lightcnn.lit' has no attribute {name!r}")


__all__ = ["ImageClassifier"]
