"""Small datasets written in the real on-disk formats, so torchvision's own parsers run."""

from __future__ import annotations

import pickle
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


CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def write_cifar10(root: Path, train: int = 500, test: int = 100) -> Path:
    """Write a small CIFAR-10 under ``root/cifar-10-batches-py`` in the real pickle format.

    Five training batches ``data_batch_1..5`` (``train`` images in all), ``test_batch`` and
    ``batches.meta``: dicts with the official keys, each image a row of 3072 bytes (the 1024 red,
    then green, then blue values). Returns ``root``.
    """
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = digit_like_images(train + test, 32, 3, seed=2)
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)  # HWC -> CHW rows
    per_batch = train // 5
    batches = [(f"data_batch_{i + 1}", slice(i * per_batch, (i + 1) * per_batch)) for i in range(5)]
    batches.append(("test_batch", slice(train, train + test)))
    for name, part in batches:
        entry = {
            "batch_label": f"{name} (lightcnn test data)",
            "labels": labels[part].tolist(),
            "data": rows[part],
            "filenames": [f"{name}_{i}.png" for i in range(len(rows[part]))],
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {"label_names": list(CIFAR10_CLASSES), "num_cases_per_batch": per_batch, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return root


def write_image_folder(
    root: Path,
    classes: tuple[str, ...] = ("circle", "square", "triangle"),
    counts: dict[str, int] | None = None,
    size: int = 16,
    mode: str = "L",
) -> Path:
    """Write PNG files in torchvision's ImageFolder layout, ``root/<split>/<class>/<n>.png``.

    Args:
        root: the folder to fill.
        classes: the class folder names; class ``i`` has its bright bar at a row of its own.
        counts: split → images per class (default: 20 train, 5 test; no val).
        size: the images' side.
        mode: ``L`` (grey) or ``RGB``.
    """
    from PIL import Image

    counts = counts or {"train": 20, "test": 5}
    for s, (split, per_class) in enumerate(counts.items()):
        images, labels = digit_like_images(per_class * 10 * len(classes), size, 1, seed=10 + s)
        written = dict.fromkeys(range(len(classes)), 0)
        for image, label in zip(images, labels.tolist(), strict=True):
            if label >= len(classes) or written[label] >= per_class:
                continue
            folder = root / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image[..., 0]).convert(mode).save(folder / f"{written[label]:03d}.png")
            written[label] += 1
    return root


def write_idx_gz(root: Path, folder: str, train: int = 300, test: int = 100) -> Path:
    """Write an IDX dataset as published, gzipped, under ``root/<folder>/raw`` (torchvision's
    layout of MNIST, FashionMNIST and KMNIST); return ``root``."""
    import gzip

    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, count, seed in (("train", train, 3), ("t10k", test, 4)):
        images, labels = digit_like_images(count, 28, 1, seed)
        for name, array in (
            (f"{prefix}-images-idx3-ubyte", images[..., 0]),
            (f"{prefix}-labels-idx1-ubyte", labels),
        ):
            plain = raw / name
            write_idx(plain, array)
            (raw / f"{name}.gz").write_bytes(gzip.compress(plain.read_bytes()))
            plain.unlink()  # only the .gz, as downloaded: lightcnn unpacks it
    return root


def write_cifar100(root: Path, train: int = 300, test: int = 100) -> Path:
    """Write a small CIFAR-100 under ``root/cifar-100-python`` in the real pickle format:
    ``train`` and ``test`` (dicts with ``data`` rows of 3072 bytes, ``fine_labels``,
    ``coarse_labels``) and ``meta`` (``fine_label_names``, ``coarse_label_names``)."""
    from lightcnn.data import CIFAR100Source

    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    for name, count in (("train", train), ("test", test)):
        images, labels = digit_like_images(count, 32, 3, seed=6 if name == "train" else 7)
        fine = (labels.astype(int) * 10 + rng.integers(0, 10, count)).tolist()  # 0..99
        entry = {
            "batch_label": f"{name} (lightcnn test data)",
            "filenames": [f"{name}_{i}.png" for i in range(count)],
            "fine_labels": fine,
            "coarse_labels": [label // 5 for label in fine],
            "data": images.transpose(0, 3, 1, 2).reshape(count, 3072),
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {
        "fine_label_names": list(CIFAR100Source.classes),
        "coarse_label_names": [f"superclass_{i}" for i in range(20)],
    }
    (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    return root


def write_svhn(root: Path, train: int = 300, test: int = 100, extra: int = 50) -> Path:
    """Write a small SVHN under ``root/SVHN`` as MATLAB files (``scipy.io.savemat``): ``X`` of
    shape (32, 32, 3, N) and ``y`` of shape (N, 1) with labels 1..10 (10 is the digit 0)."""
    from scipy.io import savemat

    folder = root / "SVHN"
    folder.mkdir(parents=True, exist_ok=True)
    for name, count, seed in (("train", train, 8), ("test", test, 9), ("extra", extra, 10)):
        images, labels = digit_like_images(count, 32, 3, seed)
        y = np.where(labels == 0, 10, labels).astype(np.uint8).reshape(-1, 1)
        savemat(folder / f"{name}_32x32.mat", {"X": images.transpose(1, 2, 3, 0), "y": y})
    return root
