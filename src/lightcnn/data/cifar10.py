"""CIFAR-10 on disk, read with ``torchvision.datasets.CIFAR10``: its facts, files and checks."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import check_integrity

from lightcnn.core.errors import DataError
from lightcnn.data.source import DatasetSource


class CIFAR10Source(DatasetSource):
    """CIFAR-10: 50,000 training and 10,000 test images, 32×32, three channels, ten classes.

    Files live in torchvision's layout, ``<data_dir>/cifar-10-batches-py/`` with
    ``data_batch_1`` … ``data_batch_5``, ``test_batch`` and ``batches.meta``; torchvision checks
    each file's md5 against the official archive's, and the class names are read from
    ``batches.meta`` and checked.
    """

    name = "CIFAR-10"
    image_size = 32
    channels = 3
    classes = (
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
    # Per-channel statistics of the 50,000 training images.
    mean = (0.4914, 0.4822, 0.4465)
    std = (0.2470, 0.2435, 0.2616)

    @property
    def base_dir(self) -> Path:
        return self.data_dir / CIFAR10.base_folder

    @staticmethod
    def expected_files() -> list[tuple[str, str]]:
        """(file name, md5) of every file, from torchvision's own table."""
        files = CIFAR10.train_list + CIFAR10.test_list
        return [(name, md5) for name, md5 in files] + [
            (CIFAR10.meta["filename"], CIFAR10.meta["md5"])
        ]

    def files_present(self) -> bool:
        return all((self.base_dir / name).is_file() for name, _ in self.expected_files())

    def download_files(self) -> None:
        CIFAR10(self.data_dir, train=True, download=True)

    def missing_message(self) -> str:
        names = ", ".join(name for name, _ in self.expected_files())
        return (
            f"Put the files {names} (from {CIFAR10.url}) in {self.base_dir}, or point "
            f"data.data_dir (or LIGHTCNN_DATA_DIR) at a folder that has {CIFAR10.base_folder}/."
        )

    def torchvision_dataset(self, train: bool, transform: nn.Module | None = None) -> Dataset:
        try:
            data = CIFAR10(self.data_dir, train=train, transform=transform)
        except RuntimeError as error:  # torchvision's "not found or corrupted"
            raise DataError(self._integrity_message(error)) from error
        if tuple(data.classes) != self.classes:
            raise DataError(
                f"{self.base_dir / CIFAR10.meta['filename']} names the classes "
                f"{', '.join(data.classes)}; CIFAR-10's are {', '.join(self.classes)}"
            )
        return data

    def _integrity_message(self, error: Exception) -> str:
        bad = [
            name
            for name, md5 in self.expected_files()
            if not check_integrity(str(self.base_dir / name), md5)
        ]
        if not bad:
            return f"CIFAR-10 in {self.base_dir} could not be read: {error}"
        return (
            f"CIFAR-10 files in {self.base_dir} are missing or do not match the official md5 "
            f"checksums: {', '.join(bad)}. Delete them and run with data.download=true, or "
            f"replace them with the files of {CIFAR10.filename} ({CIFAR10.url})."
        )

    def raw_tensors(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        data = self.torchvision_dataset(train)
        images = torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous()
        return images, torch.tensor(data.targets, dtype=torch.int64)
