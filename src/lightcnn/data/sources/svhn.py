"""SVHN, read with ``torchvision.datasets.SVHN``: house-number digits cropped to 32×32 RGB, in
the published MATLAB files (``scipy.io`` reads them: the ``svhn`` extra)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import ConcatDataset, Dataset
from torchvision.datasets import SVHN
from torchvision.datasets.utils import check_integrity

from lightcnn.core.errors import DataError
from lightcnn.data.sources.source import DatasetSource


class SVHNSource(DatasetSource):
    """SVHN (Netzer et al. 2011): 73,257 training and 26,032 test digits, 32×32 RGB; with
    ``data.extra=true`` the 531,131 easier ``extra`` digits join the training split.

    Files live in ``<data_dir>/SVHN/``: ``train_32x32.mat``, ``test_32x32.mat`` (and
    ``extra_32x32.mat``), each checked against torchvision's md5. The label 10 of the files
    is the digit 0 (torchvision maps it).

    Args:
        data_dir: the folder holding ``SVHN/``.
        extra: add the ``extra`` split to the training split.
    """

    name = "SVHN"
    image_size = 32
    channels = 3
    classes = tuple(str(digit) for digit in range(10))
    # Per-channel statistics of the 73,257 training images, as published and widely used.
    mean = (0.4377, 0.4438, 0.4728)
    std = (0.1980, 0.2010, 0.1970)
    OPTIONS = ("extra",)

    def __init__(self, data_dir: str | Path, extra: bool = False) -> None:
        super().__init__(data_dir)
        self.extra = extra

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SVHNSource:
        return cls(options.get("data_dir") or "data", extra=bool(options.get("extra")))

    @property
    def root(self) -> Path:
        return self.data_dir / "SVHN"

    def _splits(self) -> list[str]:
        return ["train", "test", *(["extra"] if self.extra else [])]

    def files_present(self) -> bool:
        return all((self.root / SVHN.split_list[s][1]).is_file() for s in self._splits())

    def download_files(self) -> None:
        for split in self._splits():
            SVHN(self.root, split=split, download=True)

    def missing_message(self) -> str:
        files = [SVHN.split_list[s] for s in self._splits()]
        return (
            f"Put {', '.join(f'{name} ({url})' for url, name, _ in files)} in {self.root}, "
            f"or point data.data_dir (or LIGHTCNN_DATA_DIR) at a folder that has SVHN/."
        )

    def check_files(self) -> None:
        bad = [
            SVHN.split_list[s][1]
            for s in self._splits()
            if not check_integrity(str(self.root / SVHN.split_list[s][1]), SVHN.split_list[s][2])
        ]
        if bad:
            raise DataError(
                f"SVHN files in {self.root} are missing or do not match the official md5 "
                f"checksums: {', '.join(bad)}. Delete them and run with data.download=true. "
                f"{self.missing_message()}"
            )

    def _open(self, split: str, transform: nn.Module | None = None) -> SVHN:
        try:
            return SVHN(self.root, split=split, transform=transform)
        except ImportError as error:  # torchvision reads the .mat files with scipy
            raise DataError(
                f"SVHN's .mat files are read with scipy, which is not installed ({error}): "
                "pip install 'lightcnn[svhn]' (or scipy)"
            ) from None

    def _parts(self, split: str) -> list[str]:
        return ["train", "extra"] if split == "train" and self.extra else [split]

    def torchvision_dataset(self, split: str, transform: nn.Module | None = None) -> Dataset:
        parts = [self._open(part, transform) for part in self._parts(split)]
        return parts[0] if len(parts) == 1 else ConcatDataset(parts)

    def raw_tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [self._open(part) for part in self._parts(split)]
        images = torch.cat([torch.from_numpy(p.data) for p in parts])  # (N, 3, 32, 32)
        labels = torch.cat([torch.from_numpy(p.labels) for p in parts])
        return images.contiguous(), labels.to(torch.int64)
