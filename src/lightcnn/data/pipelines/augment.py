"""Training augmentation: one set of options, two implementations that draw the same
distributions — torchvision's per-sample transforms, and whole batches on their device.

The batch versions redo ``RandomCrop(padding)``, ``RandomHorizontalFlip`` and
``ColorJitter(brightness, contrast)`` as one indexing or arithmetic op per batch instead of one
call per image; each image still gets its own draw. Inputs are float images in [0, 1], shape
(N, C, H, W); randomness comes from torch's global generator of the batch's device (reseeded
each epoch by :class:`lightcnn.callbacks.EpochSeed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from lightcnn.core.errors import BOOLEAN, Rule, check_rules, is_int, is_number

RULES: dict[str, Rule] = {
    "random_crop": BOOLEAN,
    "crop_padding": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    "horizontal_flip": BOOLEAN,
    "brightness": (lambda v: is_number(v) and v >= 0, "a number >= 0 (0 turns it off)"),
    "contrast": (lambda v: is_number(v) and v >= 0, "a number >= 0 (0 turns it off)"),
}


@dataclass(frozen=True)
class Augmentation:
    """Training augmentation options (``data.random_crop``, ...), applied at the dataset's own
    side, before any fit to the model's input.

    Args:
        random_crop: crop of the image zero-padded by ``crop_padding``: a random translation.
        crop_padding: border of the random crop.
        horizontal_flip: random left-right flip.
        brightness: ``ColorJitter`` brightness strength (0: off).
        contrast: ``ColorJitter`` contrast strength (0: off).
    """

    random_crop: bool = False
    crop_padding: int = 4
    horizontal_flip: bool = False
    brightness: float = 0.0
    contrast: float = 0.0

    @classmethod
    def check(cls, options: Mapping[str, Any]) -> None:
        """Raise ``ConfigError`` naming ``data.<key>`` when an option breaks its rule."""
        check_rules("data", options, RULES)

    def per_sample(self, image_size: int) -> list[nn.Module]:
        """torchvision v2 transforms for one image (the per-sample pipeline).

        Args:
            image_size: the dataset's image side.
        """
        steps: list[nn.Module] = []
        if self.random_crop and self.crop_padding:
            steps.append(v2.RandomCrop(image_size, padding=self.crop_padding))
        if self.horizontal_flip:
            steps.append(v2.RandomHorizontalFlip())
        if self.brightness or self.contrast:
            steps.append(v2.ColorJitter(brightness=self.brightness, contrast=self.contrast))
        return steps

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        """The same augmentations on a float batch in [0, 1] (the tensor pipeline; brightness
        is applied before contrast, as ``ColorJitter`` with a fixed order)."""
        if self.random_crop:
            images = random_crop(images, self.crop_padding)
        if self.horizontal_flip:
            images = random_horizontal_flip(images)
        if self.brightness or self.contrast:
            images = color_jitter(images, self.brightness, self.contrast)
        return images


def random_crop(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Zero-pad by ``padding`` and crop back to the original size at a random offset per image
    (a random translation by up to ``padding`` pixels)."""
    if padding <= 0:
        return images
    n, _, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    # Every (h, w) window of each padded image, as a view (n, c, 2p+1, 2p+1, h, w); each image
    # takes one. 4.6x faster than indexing each pixel (a LeNet-5 batch of 256: 0.16 against
    # 0.75 ms, ~5% of its training step on a 2-core CPU; docs/benchmarks.md).
    windows = padded.unfold(2, h, 1).unfold(3, w, 1)
    dy = torch.randint(0, 2 * padding + 1, (n,), device=images.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), device=images.device)
    return windows[torch.arange(n, device=images.device), :, dy, dx]


def random_horizontal_flip(images: torch.Tensor, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``."""
    flip = torch.rand(images.shape[0], 1, 1, 1, device=images.device) < p
    return torch.where(flip, images.flip(-1), images)


def _gray(images: torch.Tensor) -> torch.Tensor:
    if images.shape[1] == 3:  # ITU-R 601-2 luma, as torchvision's rgb_to_grayscale
        weights = torch.tensor([0.2989, 0.587, 0.114], device=images.device, dtype=images.dtype)
        return (images * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
    return images.mean(1, keepdim=True)


def color_jitter(images: torch.Tensor, brightness: float, contrast: float) -> torch.Tensor:
    """Scale brightness by U[1-b, 1+b], then blend with the image's mean gray level by a
    contrast factor U[1-c, 1+c], per image, clamped to [0, 1] (torchvision's formulas)."""
    n = images.shape[0]
    shape = (n, 1, 1, 1)
    if brightness > 0:
        factor = torch.empty(shape, device=images.device).uniform_(1 - brightness, 1 + brightness)
        images = (images * factor).clamp(0, 1)
    if contrast > 0:
        factor = torch.empty(shape, device=images.device).uniform_(1 - contrast, 1 + contrast)
        mean = _gray(images).mean(dim=(2, 3), keepdim=True)
        images = (factor * images + (1 - factor) * mean).clamp(0, 1)
    return images
