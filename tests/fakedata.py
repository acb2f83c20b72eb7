"""Small datasets written in the real on-disk formats, so torchvision's own parsers run."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def digit_like_images(
    count: int, size: int, channels: int, seed: int, label_noise: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 images whose class is learnable: a bright bar at a class-dependent row.

    Returns images of shape (count, size, size, channels) and labels in 0..9; a fraction
    ``label_noise`` of the labels is then redrawn at random, so accuracy stays below 100%.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 60, (count, size, size, channels)).astype(np.uint8)
    rows = (labels.astype(int) * (size - 3)) // 9
    for image, row in zip(images, rows, strict=True):
        image[row : row + 3, 2:-2, :] = 255
    noisy = rng.random(count) < label_noise
    labels[noisy] = rng.integers(0, 10, int(noisy.sum()))
    return images, labels


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) in the IDX format of MNIST: magic, dimensions, raw bytes."""
    magic = 0x0800 | array.ndim
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", dim) for dim in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(root: Path, train: int = 600, test: int = 200, label_noise: float = 0.0) -> Path:
    """Write a small MNIST under ``root/MNIST/raw`` in torchvision's layout; return ``root``."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, count, seed in (("train", train, 0), ("t10k", test, 1)):
        images, labels = digit_like_images(count, 28, 1, seed, label_noise)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images[..., 0])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root
