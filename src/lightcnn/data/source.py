"""A dataset on disk: its facts (image side, channels, classes, statistics) and its files.

No Lightning here: config validation reads a dataset's facts to check a model against it in
seconds, and the data module (:mod:`lightcnn.data.module`) reads its files. A new dataset is a
subclass in its own file, registered in :data:`lightcnn.data.DATASETS`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset

from lightcnn.core.errors import DataError

log = logging.getLogger(__name__)


class DatasetSource:
    """One dataset in torchvision's on-disk layout under ``data_dir``.

    Args:
        data_dir: the folder holding the dataset's own folder (``MNIST/``, ...).
    """

    name: ClassVar[str]
    image_size: ClassVar[int]
    channels: ClassVar[int]
    classes: ClassVar[tuple[str, ...]]
    mean: ClassVar[tuple[float, ...]]
    std: ClassVar[tuple[float, ...]]
    #: light strokes on a dark background (MNIST): photos of dark ink on paper are inverted
    light_on_dark: ClassVar[bool] = False

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()

    # ------------------------------------------------------------------ per dataset

    def files_present(self) -> bool:
        """Whether the dataset's files are in ``data_dir``."""
        raise NotImplementedError

    def download_files(self) -> None:
        """Download the dataset into ``data_dir`` (torchvision's real download path)."""
        raise NotImplementedError

    def missing_message(self) -> str:
        """What to place where, for the offline error."""
        raise NotImplementedError

    def check_files(self) -> None:
        """Raise :class:`DataError` naming the file when one is malformed (default: no check)."""

    def raw_tensors(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images (N, C, H, W) and int64 labels of the official train or test split."""
        raise NotImplementedError

    def torchvision_dataset(self, train: bool, transform: nn.Module | None = None) -> Dataset:
        """The torchvision dataset of the official train or test split."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared

    def ensure_files(self, download: bool) -> None:
        """Download the files when they are missing and allowed to; else one clear error.

        Args:
            download: whether a download may be tried.
        """
        if self.files_present():
            return
        if not download:
            raise DataError(
                f"{self.name} not found (data.download=false). {self.missing_message()}"
            )
        log.info("Downloading %s to %s", self.name, self.data_dir)
        try:
            self.download_files()
        except Exception as error:  # every download failure ends in the same advice
            raise DataError(
                f"{self.name} not found and the download failed ({type(error).__name__}: "
                f"{error}). {self.missing_message()}"
            ) from error

    def read(self, train: bool, transform: nn.Module | None = None, *, tensors: bool) -> Dataset:
        """Open a split, turning any parser failure into one :class:`DataError`.

        Args:
            train: the official training split (else the test split).
            transform: per-sample transform (torchvision dataset only).
            tensors: one uint8 ``TensorDataset`` (the tensor pipeline) instead of the
                torchvision dataset.
        """
        from torch.utils.data import TensorDataset

        try:
            if tensors:
                return TensorDataset(*self.raw_tensors(train))
            return self.torchvision_dataset(train, transform)
        except DataError:
            raise
        except Exception as error:
            raise DataError(
                f"{self.name} in {self.data_dir} could not be read ({type(error).__name__}: "
                f"{error}). {self.missing_message()}"
            ) from error
