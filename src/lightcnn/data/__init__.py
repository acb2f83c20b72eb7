"""LightningDataModules for the datasets lightcnn trains on."""

from lightcnn.data.base import ImageDataModule
from lightcnn.data.mnist import MNISTDataModule

__all__ = ["ImageDataModule", "MNISTDataModule"]
