"""MNIST LightningDataModule on ``torchvision.datasets.MNIST``."""

from __future__ import annotations

import math
from pathlib import Path

from torch import nn
from torch.utils.data import Dataset
from torchvision.datasets import MNIST

from lightcnn.data.base import ImageDataModule
from lightcnn.errors import DataError

RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class MNISTDataModule(ImageDataModule):
    """MNIST: 60,000 training (55k train / 5k validation by default) and 10,000 test digits.

    Files live in torchvision's layout, ``<data_dir>/MNIST/raw/<the four IDX files>``.
    See :class:`~lightcnn.data.base.ImageDataModule` for the arguments.
    """

    name = "MNIST"
    native_size = 28
    native_channels = 1
    classes = tuple(str(digit) for digit in range(10))
    mean = (0.1307,)
    std = (0.3081,)

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "MNIST" / "raw"

    def files_present(self) -> bool:
        return all((self.raw_dir / name).is_file() for name in RAW_FILES)

    def download_files(self) -> None:
        MNIST(self.data_dir, train=True, download=True)

    def missing_message(self) -> str:
        return (
            f"Put the four IDX files {', '.join(RAW_FILES)} in {self.raw_dir}, or point "
            f"data.data_dir (or LIGHTCNN_DATA_DIR) at a folder that has MNIST/raw/."
        )

    def check_files(self) -> None:
        if not self.files_present():
            raise DataError(f"{self.name} not found. {self.missing_message()}")
        counts = {}
        for name in RAW_FILES:
            shape = _idx_shape(self.raw_dir / name)
            images = "images" in name
            expected = (
                "an IDX image file (magic 2051) of N×28×28"
                if images
                else "an IDX label file (magic 2049) of N labels"
            )
            if (
                shape is None
                or (images and shape[1:] != (28, 28))
                or (not images and len(shape) != 1)
            ):
                raise DataError(
                    f"{self.raw_dir / name} is not {expected} (found shape {shape}); "
                    f"replace it with the original MNIST file"
                )
            counts[name] = shape[0]
        for split in ("train", "t10k"):
            n_images, n_labels = (
                counts[f"{split}-images-idx3-ubyte"],
                counts[f"{split}-labels-idx1-ubyte"],
            )
            if n_images != n_labels:
                raise DataError(
                    f"{self.raw_dir}: {split} has {n_images} images but {n_labels} labels"
                )

    def dataset(self, train: bool, transform: nn.Module | None = None) -> Dataset:
        return MNIST(self.data_dir, train=train, transform=transform)


def _idx_shape(path: Path) -> tuple[int, ...] | None:
    """Shape declared by an uncompressed unsigned-byte IDX file, or None if the file is not one
    (wrong magic number, or a size that does not match its header: truncated or padded)."""
    size = path.stat().st_size
    with path.open("rb") as file:
        header = file.read(4)
        if len(header) < 4 or header[:3] != b"\x00\x00\x08" or not 1 <= header[3] <= 3:
            return None
        ndim = header[3]
        dims = file.read(4 * ndim)
    if len(dims) < 4 * ndim:
        return None
    shape = tuple(int.from_bytes(dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    return shape if size == 4 + 4 * ndim + math.prod(shape) else None
