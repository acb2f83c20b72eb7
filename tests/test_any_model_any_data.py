"""Any model on any dataset: a fast dev run for every pair — the five built-in networks and one
of one's own (``model=custom``) on every dataset by name and an image folder — with the shapes
and the class count flowing through the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import input_of
from lightcnn.core.errors import ConfigError
from lightcnn.data import CIFAR10Source
from lightcnn.train import train

MODELS = ("lenet5", "lenet5_1998", "alexnet", "alexnet_2012", "alexnet_cifar", "custom")
# dataset → (its fixture, channels, side, classes)
DATASETS = {
    "mnist": ("mnist_root", 1, 28, 10),
    "fashion_mnist": ("fashion_mnist_root", 1, 28, 10),
    "kmnist": ("kmnist_root", 1, 28, 10),
    "cifar10": ("cifar10_root", 3, 32, 10),
    "cifar100": ("cifar100_root", 3, 32, 100),
    "svhn": ("svhn_root", 3, 32, 10),
    "folder": ("image_folder", 1, 16, 3),
}
# AlexNet's smallest inputs keep these runs cheap on a CPU; the defaults (224, 227) are the
# same code path with larger maps (the headline test below runs alexnet at 224).
SMALLEST = {"alexnet": 63, "alexnet_2012": 67}


def expected_input(arch: str, dataset: str) -> tuple[int, int]:
    """(channels, side) the data module must deliver to the model."""
    _, channels, side, _ = DATASETS[dataset]
    if arch in SMALLEST:
        return 3, SMALLEST[arch]  # grayscale repeated to RGB, resized
    if arch in ("lenet5_1998", "alexnet_cifar"):
        return channels, 32  # LeNet-5 (1998) pads to 32, AlexNet-CIFAR resizes to 32
    return channels, side  # the dataset's own


def data_overrides(request: pytest.FixtureRequest, dataset: str) -> list[str]:
    root = request.getfixturevalue(DATASETS[dataset][0])
    if dataset == "folder":
        return ["data=folder", f"data.root={root}", "data.val_size=0.2"]
    return [f"data={dataset}", f"paths.data_dir={root}", "data.download=false"]


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("arch", MODELS)
def test_fast_dev_run_for_every_model_and_dataset(
    request: pytest.FixtureRequest, make_cfg, arch: str, dataset: str
) -> None:
    size = [f"model.input.image_size={SMALLEST[arch]}"] if arch in SMALLEST else []
    own = ["model.net._target_=own_nets.TinyNet"] if arch == "custom" else []
    cfg = make_cfg(
        f"model={arch}",
        *data_overrides(request, dataset),
        *size,
        *own,
        "debug=fdr",
        "data.batch_size=2",
        "data.eval_batch_size=2",
        "callbacks=none",
    )
    metrics, objects = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0
    datamodule = objects["datamodule"]
    images, _ = datamodule.on_after_batch_transfer(next(iter(datamodule.test_dataloader())), 0)
    channels, side = expected_input(arch, dataset)
    assert images.shape == (2, channels, side, side)
    hparams = objects["model"].hparams
    spec = hparams.input
    classes = DATASETS[dataset][3]
    assert (spec["in_channels"], spec["image_size"], hparams.num_classes) == (
        channels,
        side,
        classes,
    )
    assert objects["model"](images).shape == (2, classes)


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
