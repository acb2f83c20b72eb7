"""The datasets lightcnn reads, by the name ``data.dataset`` uses, and :func:`open_source`:
the dataset a data config describes.

Each is a :class:`~lightcnn.data.sources.source.DatasetSource`: published facts and
torchvision's own parser for the datasets by name, facts found in the files for an image
folder (``folder``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightcnn.core.errors import ConfigError
from lightcnn.data.sources.cifar import CIFAR10Source, CIFAR100Source
from lightcnn.data.sources.folder import FolderSource
from lightcnn.data.sources.mnist import FashionMNISTSource, KMNISTSource, MNISTSource
from lightcnn.data.sources.source import DatasetSource
from lightcnn.data.sources.svhn import SVHNSource

DATASETS: dict[str, type[DatasetSource]] = {
    "mnist": MNISTSource,
    "fashion_mnist": FashionMNISTSource,
    "kmnist": KMNISTSource,
    "cifar10": CIFAR10Source,
    "cifar100": CIFAR100Source,
    "svhn": SVHNSource,
    "folder": FolderSource,
}
#: the data options some datasets read, by option: which datasets
SOURCE_OPTIONS: dict[str, list[str]] = {}
for _name, _source in DATASETS.items():
    for _option in _source.OPTIONS:
        SOURCE_OPTIONS.setdefault(_option, []).append(_name)


def open_source(options: Mapping[str, Any]) -> DatasetSource:
    """The dataset the data options describe, its class count checked against
    ``num_classes`` when that is given.

    Args:
        options: the data module's options (``dataset``, ``data_dir``, ``root``, ...).

    Raises:
        ConfigError: an unknown dataset, an option another dataset reads set for this one,
            or ``num_classes`` that the dataset does not have.
    """
    name = options.get("dataset", "mnist")
    if name not in DATASETS:
        raise ConfigError(f"data.dataset={name!r} is unknown; allowed: {', '.join(DATASETS)}")
    source_class = DATASETS[name]
    for option, readers in SOURCE_OPTIONS.items():
        if option != "facts" and name not in readers and options.get(option) not in (None, False):
            raise ConfigError(
                f"data.{option}={options[option]!r} is an option of data={'|'.join(readers)} "
                f"only; data={name} does not read it"
            )
    source = source_class.from_options(options)
    expected = options.get("num_classes")
    if expected is not None and expected != len(source.classes):
        raise ConfigError(
            f"data.num_classes={expected} but {source.name} has {len(source.classes)} classes"
            f"{': ' + ', '.join(source.classes) if len(source.classes) <= 20 else ''}"
        )
    return source


__all__ = [
    "DATASETS",
    "CIFAR10Source",
    "CIFAR100Source",
    "DatasetSource",
    "FashionMNISTSource",
    "FolderSource",
    "KMNISTSource",
    "MNISTSource",
    "SVHNSource",
    "open_source",
]
