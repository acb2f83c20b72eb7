"""The datasets lightcnn reads, by the name ``data.dataset`` uses."""

from __future__ import annotations

from lightcnn.data.cifar10 import CIFAR10Source
from lightcnn.data.mnist import MNISTSource
from lightcnn.data.source import DatasetSource

DATASETS: dict[str, type[DatasetSource]] = {"mnist": MNISTSource, "cifar10": CIFAR10Source}
