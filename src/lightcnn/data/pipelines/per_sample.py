"""The per-sample pipeline (``data.pipeline=torchvision``): torchvision transforms, one image at
a time, in DataLoader workers — the classic path, and the reference the tensor pipeline is
tested against."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.transforms import v2

from lightcnn.data.pipelines.augment import Augmentation
from lightcnn.data.pipelines.fit import FitToInput


def per_sample_transform(fit: FitToInput, augmentation: Augmentation | None) -> v2.Compose:
    """To a float tensor in [0, 1], augment (training only), fit to the model's input.

    Augmentations run at the dataset's own side (a 4-pixel crop padding means 4 pixels of a
    32×32 image), before any resize to the model's input.

    Args:
        fit: the fit-to-input step (the same module the tensor pipeline uses).
        augmentation: training augmentation, or None for validation and test.
    """
    steps: list[nn.Module] = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    if augmentation is not None:
        steps += augmentation.per_sample(fit.image_size)
    steps.append(fit)
    return v2.Compose(steps)
