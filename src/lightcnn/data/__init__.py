"""LightningDataModules for the datasets lightcnn trains on."""

from lightcnn.data.base import ImageDataModule
from lightcnn.data.cifar10 import CIFAR10DataModule
from lightcnn.data.mnist import MNISTDataModule

__all__ = ["CIFAR10DataModule", "ImageDataModule", "MNISTDataModule"]
