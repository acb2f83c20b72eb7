"""Data: the datasets on disk (no Lightning) and the LightningDataModule that serves them.

``DATASETS`` and the dataset sources import without Lightning, so config validation can read
a dataset's facts in seconds; the data modules load Lightning on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightcnn.data.sources import (
    DATASETS,
    CIFAR10Source,
    CIFAR100Source,
    DatasetSource,
    FashionMNISTSource,
    FolderSource,
    KMNISTSource,
    MNISTSource,
    SVHNSource,
    open_source,
)

if TYPE_CHECKING:
    from lightcnn.data.module import CIFAR10DataModule, ImageDataModule, MNISTDataModule

_MODULES = ("ImageDataModule", "MNISTDataModule", "CIFAR10DataModule")


def __getattr__(name: str) -> Any:
    # the LightningDataModules, imported on first use (PEP 562)
    if name in _MODULES:
        from lightcnn.data import module

        return getattr(module, name)
    raise AttributeError(f"module 'lightcnn.data' has no attribute {name!r}")


__all__ = [
    "DATASETS",
    "CIFAR10DataModule",
    "CIFAR10Source",
    "CIFAR100Source",
    "DatasetSource",
    "FashionMNISTSource",
    "FolderSource",
    "ImageDataModule",
    "KMNISTSource",
    "MNISTDataModule",
    "MNISTSource",
    "SVHNSource",
    "open_source",
]
