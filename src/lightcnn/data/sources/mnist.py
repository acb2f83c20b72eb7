"""The IDX datasets, read with torchvision's own classes: MNIST, Fashion-MNIST and KMNIST.

All three share MNIST's layout and format: ``<data_dir>/<torchvision class name>/raw/`` holds
four IDX files (60,000 training and 10,000 test images of 28×28 grey, one byte per label), as
torchvision downloads and unpacks them. The ``.gz`` files as published, put there by hand, are
unpacked without a network.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset
from torchvision.datasets import KMNIST, MNIST, FashionMNIST
from torchvision.datasets.utils import extract_archive

from lightcnn.core.errors import DataError
from lightcnn.data.sources.source import DatasetSource

RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class IDXSource(DatasetSource):
    """A dataset in MNIST's IDX format, read by its torchvision class (``dataset_class``)."""

    dataset_class: ClassVar[type[MNIST]] = MNIST
    image_size = 28
    channels = 1
    light_on_dark = True

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / self.dataset_class.__name__ / "raw"

    def files_present(self) -> bool:
        self.unpack_archives()
        return all((self.raw_dir / name).is_file() for name in RAW_FILES)

    def unpack_archives(self) -> None:
        """Unpack each published ``<file>.gz`` found in place of its file (no network)."""
        for name in RAW_FILES:
            archive = self.raw_dir / f"{name}.gz"
            if archive.is_file() and not (self.raw_dir / name).is_file():
                try:
                    extract_archive(str(archive), str(self.raw_dir))
                except (OSError, EOFError) as error:
                    raise DataError(
                        f"{archive} could not be unpacked ({error}); replace it with the "
                        f"published file from {self.dataset_class.mirrors[0]}"
                    ) from None

    def download_files(self) -> None:
        self.dataset_class(self.data_dir, train=True, download=True)

    def missing_message(self) -> str:
        return (
            f"Put the four IDX files {', '.join(RAW_FILES)} (or their .gz files from "
            f"{self.dataset_class.mirrors[0]}) in {self.raw_dir}, or point data.data_dir (or "
            f"LIGHTCNN_DATA_DIR) at a folder that has {self.dataset_class.__name__}/raw/."
        )

    def check_files(self) -> None:
        if not self.files_present():
            raise DataError(f"{self.name} not found. {self.missing_message()}")
        counts = {}
        for name in RAW_FILES:
            path = self.raw_dir / name
            shape = _idx_shape(path, self.name)
            if "images" in name and shape[1:] != (28, 28):
                raise DataError(
                    f"{path} holds {'×'.join(map(str, shape))} images; {self.name}'s are 28×28"
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

    def torchvision_dataset(self, split: str, transform: nn.Module | None = None) -> Dataset:
        return self.dataset_class(self.data_dir, train=split == "train", transform=transform)

    def raw_tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        data = self.dataset_class(self.data_dir, train=split == "train")
        return data.data.unsqueeze(1), data.targets


class MNISTSource(IDXSource):
    """MNIST: 60,000 training and 10,000 test handwritten digits, 28×28, one channel.

    Files live in torchvision's layout, ``<data_dir>/MNIST/raw/<the four IDX files>``.
    """

    name = "MNIST"
    classes = tuple(str(digit) for digit in range(10))
    mean = (0.1307,)
    std = (0.3081,)


class FashionMNISTSource(IDXSource):
    """Fashion-MNIST (Xiao et al. 2017): 60,000 training and 10,000 test pictures of clothing,
    28×28 grey, light on a dark background; ``<data_dir>/FashionMNIST/raw/``."""

    name = "Fashion-MNIST"
    dataset_class = FashionMNIST
    classes = tuple(FashionMNIST.classes)
    # statistics of the 60,000 training images, as published and widely used
    mean = (0.2860,)
    std = (0.3530,)


class KMNISTSource(IDXSource):
    """Kuzushiji-MNIST (Clanuwat et al. 2018): 60,000 training and 10,000 test cursive Japanese
    characters, 28×28 grey, light on dark; ``<data_dir>/KMNIST/raw/``."""

    name = "KMNIST"
    dataset_class = KMNIST
    classes = tuple(KMNIST.classes)
    # statistics of the 60,000 training images, as published and widely used
    mean = (0.1918,)
    std = (0.3483,)


def _idx_shape(path: Path, name: str) -> tuple[int, ...]:
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
            f"{path} is not an {name} IDX file (its first bytes are not an unsigned-byte IDX "
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
