"""The seeded train / validation split, carved out of the official training set only (the
official test set stays the test set)."""

from __future__ import annotations

import torch

from lightcnn.core.errors import ConfigError


def validation_count(val_size: int | float, count: int, name: str) -> int:
    """Images held out for validation: ``val_size`` itself, or that fraction of ``count``.

    Args:
        val_size: a number of images, or a fraction in (0, 1).
        count: images in the official training split.
        name: the dataset, for the message.
    """
    held_out = round(val_size * count) if val_size < 1 else int(val_size)
    if not 0 < held_out < count:
        raise ConfigError(
            f"data.val_size={val_size} must be smaller than the {count} training images of {name}"
        )
    return held_out


def split_indices(count: int, val_count: int, seed: int) -> tuple[list[int], list[int]]:
    """(train, validation) positions in the official training split; depends on the seed only.

    Args:
        count: images in the official training split.
        val_count: images held out for validation.
        seed: the split's seed.
    """
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed)).tolist()
    return order[val_count:], order[:val_count]
