"""The predictions of one pass over a split: every logit and label, and the most confident
mistakes with their images — what the evaluation report and the TensorBoard figures are made of.

:class:`PredictionAccumulator` gathers them batch by batch without reading anything back from
the device (no synchronisation per batch); :meth:`PredictionAccumulator.compute` moves the
result to the CPU once, at the end of the pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Mistakes:
    """The most confident misclassified examples, most confident first.

    Args:
        images: the model's (normalised) inputs, shape (K, C, H, W).
        targets: their true labels, shape (K,).
        predictions: the predicted labels, shape (K,).
        confidences: the probability given to each prediction, shape (K,).
    """

    images: torch.Tensor
    targets: torch.Tensor
    predictions: torch.Tensor
    confidences: torch.Tensor

    def __len__(self) -> int:
        return len(self.targets)


@dataclass(frozen=True)
class Predictions:
    """Logits and labels of every sample of a pass, on the CPU, and its most confident mistakes.

    Args:
        logits: shape (N, classes).
        targets: shape (N,).
        mistakes: the most confident misclassified examples.
    """

    logits: torch.Tensor
    targets: torch.Tensor
    mistakes: Mistakes

    def __len__(self) -> int:
        return len(self.targets)


class PredictionAccumulator:
    """Collect logits and labels batch by batch, keeping the ``keep_mistakes`` most confident
    mistakes (with their images) in a running top-k.

    Everything stays on the batches' device until :meth:`compute`: a batch costs a softmax, a
    top-k and a concatenation, and never makes the device wait.

    Args:
        keep_mistakes: how many misclassified examples to keep (0: none).
    """

    def __init__(self, keep_mistakes: int = 25) -> None:
        self.keep_mistakes = keep_mistakes
        self.reset()

    def reset(self) -> None:
        """Forget everything collected (start of a pass)."""
        self._logits: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []
        # running top-k: score is the confidence of a wrong prediction, -1 for a right one
        self._scores: torch.Tensor | None = None
        self._images: torch.Tensor | None = None
        self._mistake_targets: torch.Tensor | None = None
        self._predictions: torch.Tensor | None = None

    def update(self, logits: torch.Tensor, targets: torch.Tensor, images: torch.Tensor) -> None:
        """Add one batch.

        Args:
            logits: the model's outputs, shape (B, classes).
            targets: the true labels, shape (B,).
            images: the model's inputs, shape (B, C, H, W).
        """
        logits = logits.detach()
        self._logits.append(logits)
        self._targets.append(targets.detach())
        if self.keep_mistakes == 0:
            return
        confidences, predictions = logits.float().softmax(dim=1).max(dim=1)
        scores = torch.where(predictions == targets, -1.0, confidences)
        if self._scores is not None:
            scores = torch.cat([self._scores, scores])
            images = torch.cat([self._images, images.detach()])
            targets = torch.cat([self._mistake_targets, targets])
            predictions = torch.cat([self._predictions, predictions])
        top = scores.topk(min(self.keep_mistakes, len(scores))).indices
        self._scores, self._images = scores[top], images[top].detach()
        self._mistake_targets, self._predictions = targets[top], predictions[top]

    @property
    def empty(self) -> bool:
        """Whether no batch was collected since the last :meth:`reset`."""
        return not self._logits

    def compute(self) -> Predictions:
        """Everything collected since the last :meth:`reset`, on the CPU."""
        if not self._logits:
            raise RuntimeError("no batch was collected")
        logits = torch.cat(self._logits).float().cpu()
        targets = torch.cat(self._targets).cpu()
        if self._scores is None:
            empty = torch.empty(0, dtype=torch.long)
            mistakes = Mistakes(torch.empty(0, 1, 1, 1), empty, empty, torch.empty(0))
        else:
            wrong = (self._scores >= 0).cpu()
            mistakes = Mistakes(
                images=self._images.float().cpu()[wrong],
                targets=self._mistake_targets.cpu()[wrong],
                predictions=self._predictions.cpu()[wrong],
                confidences=self._scores.float().cpu()[wrong],
            )
        return Predictions(logits, targets, mistakes)
