"""The tensor pipeline: same images as torchvision's per-sample path, per-sample augmentation
on whole batches, deterministic shuffling and DDP sharding."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from lightcnn.data import CIFAR10DataModule, MNISTDataModule
from lightcnn.data.pipelines import augment
from lightcnn.data.pipelines.tensor import TensorLoader


def delivered(dm, batch, training: bool = False):
    dm.trainer = SimpleNamespace(training=training)
    images, labels = dm.on_after_batch_transfer(batch, 0)
    dm.trainer = None
    return images, labels


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"input": {"image_size": 32, "fit": "pad"}},
        {"input": {"image_size": 64, "in_channels": 3}},
    ],
    ids=["native", "pad32", "resize64-rgb"],
)
def test_mnist_tensor_path_equals_torchvision_path(mnist_root: Path, options: dict) -> None:
    tensor = MNISTDataModule(mnist_root, val_size=100, seed=2, batch_size=100, **options)
    classic = MNISTDataModule(mnist_root, val_size=100, seed=2, pipeline="torchvision", **options)
    tensor.setup("fit")
    classic.setup("fit")
    assert tensor.val_indices == classic.val_indices
    images, labels = delivered(tensor, next(iter(tensor.val_dataloader())))
    expected = torch.stack([classic.val_set[i][0] for i in range(100)])
    torch.testing.assert_close(images, expected, rtol=1e-5, atol=1e-5)
    assert labels.tolist() == [classic.val_set[i][1] for i in range(100)]


def test_cifar10_tensor_path_equals_torchvision_path(cifar10_root: Path) -> None:
    imagenet = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    options = {"val_size": 100, "input": {"image_size": 64, **imagenet}, "batch_size": 30}
    tensor = CIFAR10DataModule(cifar10_root, **options)
    classic = CIFAR10DataModule(cifar10_root, pipeline="torchvision", **options)
    tensor.setup("test")
    classic.setup("test")
    images, labels = delivered(tensor, next(iter(tensor.test_dataloader())))
    expected = torch.stack([classic.test_set[i][0] for i in range(30)])
    torch.testing.assert_close(images, expected, rtol=1e-4, atol=1e-4)
    assert labels.tolist() == [classic.test_set[i][1] for i in range(30)]


def test_augmentation_is_per_sample_and_only_in_training(cifar10_root: Path) -> None:
    dm = CIFAR10DataModule(cifar10_root, val_size=100)  # crop, flip, brightness, contrast on
    same = torch.full((16, 3, 32, 32), 100, dtype=torch.uint8)
    same[:, :, 10:20, 5:12] = 250  # a bright patch that crops and flips move
    labels = torch.zeros(16, dtype=torch.int64)
    train_images, _ = delivered(dm, (same, labels), training=True)
    distinct = {tuple(image.flatten().tolist()) for image in train_images}
    assert len(distinct) == 16  # every image drew its own augmentation
    eval_images, _ = delivered(dm, (same, labels), training=False)
    assert torch.equal(eval_images, eval_images[:1].expand_as(eval_images))
    torch.testing.assert_close(eval_images[0], dm.fit_to_input(same[:1].float() / 255)[0])


def test_random_crop_translates_by_at_most_the_padding() -> None:
    torch.manual_seed(0)
    images = torch.zeros(400, 1, 9, 9)
    images[:, 0, 4, 4] = 1.0
    moved = augment.random_crop(images, padding=2)
    positions = moved[:, 0].flatten(1).argmax(1)
    rows, cols = positions // 9 - 4, positions % 9 - 4
    assert set(rows.tolist()) == set(cols.tolist()) == {-2, -1, 0, 1, 2}
    assert torch.equal(moved.sum(dim=(1, 2, 3)), torch.ones(400))


def test_flip_and_jitter() -> None:
    torch.manual_seed(0)
    images = torch.rand(1000, 3, 4, 4)
    flipped = augment.random_horizontal_flip(images)
    mirrored = (flipped == images.flip(-1)).flatten(1).all(1)
    assert 400 < int(mirrored.sum()) < 600
    jittered = augment.color_jitter(images, brightness=0.5, contrast=0.5)
    assert jittered.min() >= 0 and jittered.max() <= 1
    assert not torch.allclose(jittered, images)


def loader(
    count: int, shuffle: bool, epoch: int = 0, rank: int = 0, world: int = 1
) -> TensorLoader:
    return TensorLoader(
        torch.arange(count, dtype=torch.uint8).view(count, 1, 1, 1),
        torch.arange(count),
        batch_size=4,
        shuffle=shuffle,
        seed=1,
        epoch_fn=lambda: epoch,
        device_fn=lambda: torch.device("cpu"),
        shard_fn=lambda: (rank, world),
    )


def order(tensor_loader: TensorLoader) -> list[int]:
    return [int(label) for _, labels in tensor_loader for label in labels]


def test_shuffling_depends_on_seed_and_epoch_only() -> None:
    assert order(loader(10, shuffle=False)) == list(range(10))
    assert len(loader(10, shuffle=True)) == 3
    first = order(loader(10, shuffle=True, epoch=0))
    assert sorted(first) == list(range(10))
    assert order(loader(10, shuffle=True, epoch=0)) == first
    assert order(loader(10, shuffle=True, epoch=1)) != first


def test_ddp_ranks_split_every_epoch_like_distributed_sampler() -> None:
    shards = [order(loader(11, shuffle=True, rank=rank, world=2)) for rank in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 6  # padded to an equal share
    assert set(shards[0]) | set(shards[1]) == set(range(11))
    assert len(loader(11, shuffle=True, rank=1, world=2)) == 2


def test_ddp_evaluation_shards_count_every_sample_once() -> None:
    """No padding for validation and test: the metrics reduced across ranks are exact."""
    shards = [order(loader(11, shuffle=False, rank=rank, world=2)) for rank in (0, 1)]
    assert sorted(shards[0] + shards[1]) == list(range(11))
    assert [len(loader(11, shuffle=False, rank=rank, world=2)) for rank in (0, 1)] == [2, 2]
    assert len(loader(9, shuffle=False, rank=1, world=2)) == 1  # 4 samples: one batch of 4


def test_random_crop_takes_one_window_of_each_padded_image() -> None:
    torch.manual_seed(0)
    images = torch.rand(64, 3, 8, 8)
    moved = augment.random_crop(images, padding=2)
    assert moved.shape == images.shape and moved.is_contiguous()
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for image, padded_image in zip(moved, padded, strict=True):
        windows = [padded_image[:, y : y + 8, x : x + 8] for y in range(5) for x in range(5)]
        assert any(torch.equal(image, window) for window in windows)
