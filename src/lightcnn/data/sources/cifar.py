"""The CIFAR datasets, read with torchvision's own classes: CIFAR-10 and CIFAR-100 (its 100
fine labels), in the pickled batches of the published archives."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset
from torchvision.datasets import CIFAR10, CIFAR100
from torchvision.datasets.utils import check_integrity

from lightcnn.core.errors import DataError
from lightcnn.data.sources.source import DatasetSource

#: CIFAR-100's fine label names, in label order (its meta file's, checked when read)
CIFAR100_FINE_LABELS = """
    apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
    butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach
    couch crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster
    house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree
    motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear
    pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road
    rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel
    streetcar sunflower sweet_pepper table tank telephone television tiger tractor train
    trout tulip turtle wardrobe whale willow_tree wolf woman worm
"""


class CIFARSource(DatasetSource):
    """A CIFAR dataset: 50,000 training and 10,000 test images, 32×32, three channels.

    Files live in torchvision's layout under ``<data_dir>/<base folder>/``; torchvision checks
    each file's md5 against the official archive's, and the class names are read from the meta
    file and checked.
    """

    dataset_class: ClassVar[type[CIFAR10]] = CIFAR10
    image_size = 32
    channels = 3

    @property
    def base_dir(self) -> Path:
        return self.data_dir / self.dataset_class.base_folder

    @classmethod
    def expected_files(cls) -> list[tuple[str, str]]:
        """(file name, md5) of every file, from torchvision's own table."""
        data = cls.dataset_class
        files = data.train_list + data.test_list
        return [(name, md5) for name, md5 in files] + [(data.meta["filename"], data.meta["md5"])]

    def files_present(self) -> bool:
        return all((self.base_dir / name).is_file() for name, _ in self.expected_files())

    def download_files(self) -> None:
        self.dataset_class(self.data_dir, train=True, download=True)

    def missing_message(self) -> str:
        names = ", ".join(name for name, _ in self.expected_files())
        data = self.dataset_class
        return (
            f"Put the files {names} (from {data.url}) in {self.base_dir}, or point "
            f"data.data_dir (or LIGHTCNN_DATA_DIR) at a folder that has {data.base_folder}/."
        )

    def torchvision_dataset(self, split: str, transform: nn.Module | None = None) -> Dataset:
        try:
            data = self.dataset_class(self.data_dir, train=split == "train", transform=transform)
        except RuntimeError as error:  # torchvision's "not found or corrupted"
            raise DataError(self._integrity_message(error)) from error
        if tuple(data.classes) != self.classes:
            raise DataError(
                f"{self.base_dir / self.dataset_class.meta['filename']} names the classes "
                f"{', '.join(data.classes)}; {self.name}'s are {', '.join(self.classes)}"
            )
        return data

    def _integrity_message(self, error: Exception) -> str:
        bad = [
            name
            for name, md5 in self.expected_files()
            if not check_integrity(str(self.base_dir / name), md5)
        ]
        if not bad:
            return f"{self.name} in {self.base_dir} could not be read: {error}"
        data = self.dataset_class
        return (
            f"{self.name} files in {self.base_dir} are missing or do not match the official md5 "
            f"checksums: {', '.join(bad)}. Delete them and run with data.download=true, or "
            f"replace them with the files of {data.filename} ({data.url})."
        )

    def raw_tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        data = self.torchvision_dataset(split)
        images = torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous()
        return images, torch.tensor(data.targets, dtype=torch.int64)


class CIFAR10Source(CIFARSource):
    """CIFAR-10: ten classes; ``<data_dir>/cifar-10-batches-py/`` with ``data_batch_1`` …
    ``data_batch_5``, ``test_batch`` and ``batches.meta``."""

    name = "CIFAR-10"
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


class CIFAR100Source(CIFARSource):
    """CIFAR-100: 100 classes (the fine labels; torchvision reads ``fine_labels``);
    ``<data_dir>/cifar-100-python/`` with ``train``, ``test`` and ``meta``."""

    name = "CIFAR-100"
    dataset_class = CIFAR100
    classes = tuple(CIFAR100_FINE_LABELS.split())
    # Per-channel statistics of the 50,000 training images, as published and widely used.
    mean = (0.5071, 0.4865, 0.4409)
    std = (0.2673, 0.2564, 0.2762)
