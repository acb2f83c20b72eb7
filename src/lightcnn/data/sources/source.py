"""A dataset on disk: its facts (image side, channels, classes, statistics) and its files.

No Lightning here: config validation reads a dataset's facts to check a model against it in
seconds, and the data module (:mod:`lightcnn.data.module`) reads its files. A dataset by name
(MNIST, CIFAR-10, ...) states its facts as published constants; an image folder
(:mod:`~lightcnn.data.sources.folder`) finds them in its files. Either way they are read from an
instance, and :meth:`DatasetSource.facts` records them (in the checkpoint and the run's
``metrics.json``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset

from lightcnn.core.errors import DataError

log = logging.getLogger(__name__)

#: the splits a dataset may have files for; without its own ``val`` files a seeded split of
#: ``train`` is held out (``data/split.py``)
SPLITS = ("train", "val", "test")


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
    #: the data options (``data.<key>``) only this dataset reads; others leave them unset
    OPTIONS: ClassVar[tuple[str, ...]] = ()
    #: whether the dataset has validation files of its own (else a seeded split of train)
    has_val: ClassVar[bool] = False
    #: whether the dataset has a test split (an image folder may have none)
    has_test: ClassVar[bool] = True

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> DatasetSource:
        """The dataset the data options describe (``data_dir``, and the dataset's own OPTIONS).

        Args:
            options: the data module's options (the ``data`` config).
        """
        return cls(options.get("data_dir") or "data")

    def facts(self) -> dict[str, Any]:
        """What the data looks like, as primitives: recorded in the checkpoint (so predict
        needs no files) and in the run's ``metrics.json``."""
        return {
            "name": self.name,
            "image_size": self.image_size,
            "channels": self.channels,
            "classes": list(self.classes),
            "mean": list(self.mean),
            "std": list(self.std),
            "light_on_dark": self.light_on_dark,
        }

    def check(self) -> None:
        """Everything that can be checked before a run writes anything (default: nothing; the
        files of a dataset by name are checked, or downloaded, when the run starts)."""

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

    def raw_tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images (N, C, H, W) and int64 labels of a split (``train``, ``val``, ``test``)."""
        raise NotImplementedError

    def torchvision_dataset(self, split: str, transform: nn.Module | None = None) -> Dataset:
        """The torchvision dataset of a split, yielding (transformed image, label)."""
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

    def read(self, split: str, transform: nn.Module | None = None, *, tensors: bool) -> Dataset:
        """Open a split, turning any parser failure into one :class:`DataError`.

        Args:
            split: ``train``, ``val`` (when the dataset has its own) or ``test``.
            transform: per-sample transform (torchvision dataset only).
            tensors: one uint8 ``TensorDataset`` (the tensor pipeline) instead of the
                torchvision dataset.
        """
        from torch.utils.data import TensorDataset

        try:
            if tensors:
                return TensorDataset(*self.raw_tensors(split))
            return self.torchvision_dataset(split, transform)
        except DataError:
            raise
        except Exception as error:
            raise DataError(
                f"{self.name} in {self.data_dir} could not be read ({type(error).__name__}: "
                f"{error}). {self.missing_message()}"
            ) from error
