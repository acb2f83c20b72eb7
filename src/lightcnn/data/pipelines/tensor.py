"""The tensor pipeline (``data.pipeline=tensor``, the default): each split held as one uint8
tensor on the training device, batches taken by index and finished there.

:class:`TensorLoader` yields uint8 batches; :func:`finish_batch` (called from the data module's
``on_after_batch_transfer``) converts, augments (training only), fits and normalises them on
their device — the per-sample pipeline's steps, batched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

from lightcnn.data.pipelines.augment import Augmentation
from lightcnn.data.pipelines.fit import FitToInput
from lightcnn.data.sampler import epoch_permutation


class TensorLoader:
    """Iterate (uint8 images, int64 labels) batches of a split held as one tensor.

    The tensors move to the training device once, at the first iteration; every batch is then
    one index operation there. Shuffling depends only on (seed, epoch), as with
    :class:`~lightcnn.data.sampler.EpochShuffleSampler`. Under DDP each rank takes every
    ``world_size``-th index of the order. A shuffled (training) order is first padded to an equal
    share, as ``DistributedSampler`` does, since every step all-reduces the gradients; an
    evaluation order is not, so every sample is counted exactly once and the metrics reduced
    across ranks equal those of one process.

    Args:
        images: uint8 images, shape (N, C, H, W).
        labels: int64 labels, shape (N,).
        batch_size: samples per batch (the last batch may be smaller).
        shuffle: reshuffle every epoch.
        seed: base seed of the shuffling.
        epoch_fn: returns the current epoch.
        device_fn: returns the device to hold the data on.
        shard_fn: returns (rank, world_size).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        shuffle: bool,
        seed: int,
        epoch_fn: Callable[[], int],
        device_fn: Callable[[], torch.device],
        shard_fn: Callable[[], tuple[int, int]],
    ) -> None:
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch_fn = epoch_fn
        self.device_fn = device_fn
        self.shard_fn = shard_fn

    def _indices(self) -> torch.Tensor:
        count = len(self.labels)
        order = (
            epoch_permutation(count, self.seed, self.epoch_fn())
            if self.shuffle
            else torch.arange(count)
        )
        rank, world_size = self.shard_fn()
        if world_size > 1:
            if self.shuffle:
                total = math.ceil(count / world_size) * world_size
                order = torch.cat([order, order[: total - count]])
            order = order[rank::world_size]
        return order

    def __len__(self) -> int:
        rank, world_size = self.shard_fn()
        count = len(self.labels)
        if self.shuffle:  # padded to an equal share
            share = math.ceil(count / world_size)
        else:
            share = len(range(rank, count, world_size))
        return math.ceil(share / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        device = self.device_fn()
        if self.images.device != device:
            self.images = self.images.to(device)
            self.labels = self.labels.to(device)
        order = self._indices().to(device)
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            # whole rows: ~6x faster than `images[index]`, which indexes each element
            yield self.images.index_select(0, index), self.labels.index_select(0, index)


def finish_batch(
    images: torch.Tensor, fit: FitToInput, augmentation: Augmentation | None
) -> torch.Tensor:
    """uint8 images (N, C, H, W) → the network's input, augmented when ``augmentation`` is given.

    Args:
        images: a uint8 batch on its device.
        fit: the fit-to-input step.
        augmentation: training augmentation, or None for validation and test.
    """
    if augmentation is None:
        return fit.from_uint8(images)  # one fused op at the dataset's side
    return fit(augmentation.batch(images.float().div_(255)))
