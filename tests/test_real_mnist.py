"""Accuracy on the real MNIST (LIGHTCNN_DATA_DIR); skipped, with the reason, when absent."""

from __future__ import annotations

import pytest

from conftest import real_mnist_root
from lightcnn.train import train

ROOT = real_mnist_root()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        ROOT is None,
        reason="real MNIST not found: set LIGHTCNN_DATA_DIR to a folder with MNIST/raw/",
    ),
]


@pytest.mark.parametrize("pipeline", ["tensor", "torchvision"])
def test_one_epoch_of_lenet5_reaches_97_percent_on_the_test_split(make_cfg, pipeline: str) -> None:
    cfg = make_cfg(
        f"data.pipeline={pipeline}",
        f"paths.data_dir={ROOT}",
        "data.val_size=5000",
        "trainer.max_epochs=1",
        "data.num_workers=1",
        "logger=csv",
    )
    metrics, _ = train(cfg)
    assert metrics["test/acc"] >= 0.97, metrics
