"""The validation and test metrics of ImageClassifier: accumulated over the batches of one
epoch, logged once at its end, and started afresh by the next epoch or call."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightcnn.lit.classifier import ImageClassifier


def loader(images: torch.Tensor, labels: torch.Tensor) -> DataLoader:
    return DataLoader(TensorDataset(images, labels), batch_size=20)  # batches of 20, 20 (and 8)


def test_eval_metrics_cover_one_whole_pass_and_start_afresh() -> None:
    torch.manual_seed(0)
    model = ImageClassifier(arch="lenet5").eval()
    images = torch.randn(40, 1, 28, 28)
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    right, wrong = loader(images, predicted), loader(images, (predicted + 1) % 10)
    trainer = L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    # every batch right, then every batch wrong: a metric that kept the first pass would say 0.5
    assert trainer.validate(model, right, verbose=False)[0]["val/acc"] == 1.0
    assert trainer.validate(model, wrong, verbose=False)[0]["val/acc"] == 0.0
    half = loader(
        torch.cat([images[:24], images[:24]]),
        torch.cat([predicted[:24], (predicted[:24] + 1) % 10]),
    )
    result = trainer.test(model, half, verbose=False)[0]
    assert result["test/acc"] == 0.5  # over the batches of 20, 20 and 8, weighted by their size
    with torch.no_grad():
        losses = torch.nn.functional.cross_entropy(
            model(images[:24]), predicted[:24], reduction="none"
        )
        wrong_losses = torch.nn.functional.cross_entropy(
            model(images[:24]), (predicted[:24] + 1) % 10, reduction="none"
        )
    assert abs(result["test/loss"] - torch.cat([losses, wrong_losses]).mean().item()) < 1e-5
