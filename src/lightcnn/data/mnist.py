"""MNIST on disk, read with ``torchvision.datasets.MNIST``: its facts, files and checks."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset
from torchvision.datasets import MNIST

from lightcnn.core.errors import DataError
from lightcnn.data.source import DatasetSource

RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class MNISTSource(DatasetSource):
    """MNIST: 60,000 training and 10,000 test digits, 28×28, one channel.

    Files live in torchvision's layout, ``<data_dir>/MNIST/raw/<the four IDX files>``.
    """

    name = "MNIST"
    image_size = 28
    channels = 1
    classes = tuple(str(digit) for digit in range(10))
    mean = (0.1307,)
    std = (0.3081,)
    light_on_dark = True

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
            path = self.raw_dir / name
            shape = _idx_shape(path)
            if "images" in name and shape[1:] != (28, 28):
                raise DataError(
                    f"{path} holds {'×'.join(map(str, shape))} images; MNIST's are 28×28"
                )
            if "labels" in name and len(shape) != 1:
                raise DataError(f"{path} holds an array of shape {shape}; labels are one byte each")
            counts[name] = shape[0]
        for split in ("train", "t10k"):
            images, labels = (
                counts[f"{split}-images-idx3-ubyte"],
                counts[f"{split}-labels-idx1-ubyte"],
            )
            if images != labels:
                raise DataError(f"{self.raw_dir}: {split} has {images} images but {labels} labels")

    def torchvision_dataset(self, train: bool, transform: nn.Module | None = None) -> Dataset:
        return MNIST(self.data_dir, train=train, transform=transform)

    def raw_tensors(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        data = MNIST(self.data_dir, train=train)
        return data.data.unsqueeze(1), data.targets


def _idx_shape(path: Path) -> tuple[int, ...]:
    """Shape declared by an uncompressed unsigned-byte IDX file, checked against its size.

    Raises :class:`DataError` naming the file when the header is not IDX or the file is
    truncated (or has trailing bytes).
    """
    size = path.stat().st_size
    with path.open("rb") as file:
        header = file.read(4)
        ndim = header[3] if len(header) == 4 else 0
        dims = file.read(4 * ndim)
    if header[:3] != b"\x00\x00\x08" or not 1 <= ndim <= 3 or len(dims) < 4 * ndim:
        raise DataError(
            f"{path} is not an MNIST IDX file (its first bytes are not an unsigned-byte IDX "
            f"header); replace it with the original file"
        )
    shape = tuple(int.from_bytes(dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    expected = 4 + 4 * ndim + math.prod(shape)
    if size != expected:
        raise DataError(
            f"{path} is truncated or corrupt: its header announces {'×'.join(map(str, shape))} "
            f"values ({expected} bytes) but the file has {size} bytes"
        )
    return shape
