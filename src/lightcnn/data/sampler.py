"""A shuffling sampler whose order depends only on (seed, epoch)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import Sampler


def epoch_permutation(length: int, seed: int, epoch: int) -> torch.Tensor:
    """A permutation of ``range(length)`` that depends only on (seed, epoch)."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(length, generator=generator)


class EpochShuffleSampler(Sampler[int]):
    """Shuffle ``length`` indices with a generator seeded by ``seed`` and the current epoch.

    The epoch is read when iteration starts, from ``epoch_fn`` (the trainer's current epoch);
    Lightning builds the first loader iterator of a resumed run before it calls ``set_epoch``,
    so reading the trainer keeps a resumed run's order equal to the uninterrupted run's.

    Args:
        length: number of samples.
        seed: base seed.
        epoch_fn: returns the current epoch.
    """

    def __init__(self, length: int, seed: int, epoch_fn: Callable[[], int]) -> None:
        self.length = length
        self.seed = seed
        self.epoch_fn = epoch_fn

    def set_epoch(self, epoch: int) -> None:
        """Kept for Lightning's sampler protocol; the epoch comes from ``epoch_fn``."""

    def __iter__(self) -> Iterator[int]:
        return iter(epoch_permutation(self.length, self.seed, self.epoch_fn()).tolist())

    def __len__(self) -> int:
        return self.length
