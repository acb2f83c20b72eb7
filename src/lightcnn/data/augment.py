"""Augmentation of whole batches on their device, each sample with its own random draw.

The per-sample torchvision transforms (``RandomCrop(padding)``, ``RandomHorizontalFlip``,
``ColorJitter(brightness, contrast)``) redone as batch operations, for the tensor pipeline:
one indexing or arithmetic op per batch instead of one PIL/tensor call per image. Inputs are
float images in [0, 1], shape (N, C, H, W); randomness comes from torch's global generator
of the batch's device (reseeded each epoch by :class:`lightcnn.callbacks.EpochSeed`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Zero-pad by ``padding`` and crop back to the original size at a random offset per image
    (a random translation by up to ``padding`` pixels)."""
    if padding <= 0:
        return images
    n, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    device = images.device
    dy = torch.randint(0, 2 * padding + 1, (n, 1), device=device)
    dx = torch.randint(0, 2 * padding + 1, (n, 1), device=device)
    rows = (dy + torch.arange(h, device=device))[:, None, :, None]
    cols = (dx + torch.arange(w, device=device))[:, None, None, :]
    batch = torch.arange(n, device=device)[:, None, None, None]
    channel = torch.arange(c, device=device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


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
