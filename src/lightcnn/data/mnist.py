"""MNIST LightningDataModule on ``torchvision.datasets.MNIST``."""

from __future__ import annotations

from torch import nn
from torch.utils.data import Dataset
from torchvision.datasets import MNIST

from lightcnn.data.base import ImageDataModule

RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class MNISTDataModule(ImageDataModule):
    """MNIST: 60,000 training (55k train / 5k validation by default) and 10,000 test digits.

    Files live in torchvision's layout, ``<data_dir>/MNIST/raw/<the four IDX files>``.
    See :class:`~lightcnn.data.base.ImageDataModule` for the arguments.
    """

    name = "MNIST"
    native_size = 28
    native_channels = 1
    classes = tuple(str(digit) for digit in range(10))
    mean = (0.1307,)
    std = (0.3081,)

    @property
    def raw_dir(self):
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

    def dataset(self, train: bool, transform: nn.Module | None = None) -> Dataset:
        return MNIST(self.data_dir, train=train, transform=transform)
