"""Any model on any dataset: a fast dev run for every pair, with shapes flowing through config."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import input_of
from lightcnn.core.errors import ConfigError
from lightcnn.data import CIFAR10Source
from lightcnn.train import train

MODELS = ("lenet5", "lenet5_1998", "alexnet", "alexnet_2012", "alexnet_cifar")
DATASETS = ("mnist", "cifar10")
# AlexNet's smallest inputs keep these runs cheap on a CPU; the defaults (224, 227) are the
# same code path with larger maps (the headline test below runs alexnet at 224).
SMALLEST = {"alexnet": 63, "alexnet_2012": 67}
# (channels, side) the data module must deliver for each pair
EXPECTED = {
    ("lenet5", "mnist"): (1, 28),
    ("lenet5", "cifar10"): (3, 32),
    ("lenet5_1998", "mnist"): (1, 32),  # padded 28 → 32, as in the paper
    ("lenet5_1998", "cifar10"): (3, 32),
    ("alexnet", "mnist"): (3, 63),  # grayscale repeated to RGB, resized
    ("alexnet", "cifar10"): (3, 63),
    ("alexnet_2012", "mnist"): (3, 67),
    ("alexnet_2012", "cifar10"): (3, 67),
    ("alexnet_cifar", "mnist"): (1, 32),  # first conv takes 1 channel, resized 28 → 32
    ("alexnet_cifar", "cifar10"): (3, 32),
}


def data_overrides(dataset: str, mnist_root: Path, cifar10_root: Path) -> list[str]:
    root = cifar10_root if dataset == "cifar10" else mnist_root
    return [f"data={dataset}", f"paths.data_dir={root}"]


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("arch", MODELS)
def test_fast_dev_run_for_every_model_and_dataset(
    make_cfg, mnist_root: Path, cifar10_root: Path, arch: str, dataset: str
) -> None:
    size = [f"model.input.image_size={SMALLEST[arch]}"] if arch in SMALLEST else []
    cfg = make_cfg(
        f"model={arch}",
        *data_overrides(dataset, mnist_root, cifar10_root),
        *size,
        "debug=fdr",
        "data.batch_size=2",
        "callbacks=none",
    )
    metrics, objects = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0
    datamodule = objects["datamodule"]
    images, _ = datamodule.on_after_batch_transfer(next(iter(datamodule.test_dataloader())), 0)
    channels, side = EXPECTED[(arch, dataset)]
    assert images.shape == (2, channels, side, side)
    hparams = objects["model"].hparams
    spec = hparams.input
    assert (spec["in_channels"], spec["image_size"], hparams.num_classes) == (channels, side, 10)


def test_headline_command_alexnet_on_cifar10_at_its_default_size(
    make_cfg, cifar10_root: Path
) -> None:
    """``python -m lightcnn.train model=alexnet data=cifar10``: 224×224 RGB, dataset mean/std."""
    cfg = make_cfg(
        "model=alexnet",
        "data=cifar10",
        f"paths.data_dir={cifar10_root}",
        "debug=fdr",
        "data.batch_size=2",
        "callbacks=none",
    )
    spec = input_of(cfg)
    assert (spec.image_size, spec.in_channels, spec.mean) == (224, 3, CIFAR10Source.mean)
    metrics, objects = train(cfg)
    datamodule = objects["datamodule"]
    images, _ = datamodule.on_after_batch_transfer(next(iter(datamodule.train_dataloader())), 0)
    assert images.shape == (2, 3, 224, 224)
    assert 0.0 <= metrics["test/acc"] <= 1.0


def test_a_combination_that_cannot_work_is_a_config_error(make_cfg, mnist_root: Path) -> None:
    cfg = make_cfg("model=alexnet", "model.input.image_size=32", "debug=fdr")
    with pytest.raises(ConfigError, match="needs image_size >= 63"):
        train(cfg)
