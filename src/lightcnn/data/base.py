"""Shared LightningDataModule for torchvision image-classification datasets.

A subclass names its torchvision dataset, its statistics and its files; this class does the
seeded train/validation split (carved out of the official training set only: the official
test set stays the test set), the transforms, the loaders and the offline error.

Two pipelines deliver the same images:

- ``tensor`` (default): each split is held as one uint8 tensor, moved once to the training
  device; batches are taken by index and converted, augmented, fitted and normalised per batch
  on that device (:meth:`ImageDataModule.on_after_batch_transfer`).
- ``torchvision``: the classic per-sample path, torchvision transforms in DataLoader workers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset
from torchvision.models import AlexNet_Weights
from torchvision.transforms import v2

from lightcnn.data import augment
from lightcnn.data.sampler import EpochShuffleSampler
from lightcnn.data.tensor_loader import TensorLoader
from lightcnn.errors import ConfigError, DataError

log = logging.getLogger(__name__)

INPUT_FITS = ("resize", "pad")
NORMALIZATIONS = ("dataset", "imagenet")
PIPELINES = ("tensor", "torchvision")


def imagenet_stats() -> tuple[list[float], list[float]]:
    """Mean and std of the pretrained weights' own preprocessing (their ``transforms()``)."""
    preset = AlexNet_Weights.IMAGENET1K_V1.transforms()
    return list(preset.mean), list(preset.std)


class RepeatChannels(nn.Module):
    """Repeat a 1-channel image to ``channels`` channels (grayscale to RGB for AlexNet)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image.expand(self.channels, -1, -1) if image.shape[0] == 1 else image


class ImageDataModule(L.LightningDataModule):
    """Train / validation / test loaders over a torchvision dataset.

    Args:
        data_dir: folder holding the dataset in torchvision's layout.
        batch_size: samples per batch, for every split.
        val_size: training images held out for validation (seeded split): a count, or a
            fraction of the training set when below 1.
        num_workers: loader worker processes.
        pin_memory: pin host memory for faster copies to the GPU.
        persistent_workers: keep workers alive between epochs.
        seed: seed of the train/validation split.
        download: download the dataset into ``data_dir`` when it is missing.
        image_size: side the images are brought to (None: the dataset's own).
        num_channels: channels the images are brought to (1-channel images are repeated).
        num_classes: expected number of classes (checked against the dataset).
        input_fit: how images smaller than ``image_size`` are enlarged: ``resize`` or
            ``pad`` (zero border, as LeNet-5 1998 does with MNIST).
        normalize: ``dataset`` (the dataset's per-channel mean/std) or ``imagenet`` (the
            ImageNet mean/std that pretrained weights expect; needs 3 channels).
        pipeline: ``tensor`` (batches from one device-resident tensor, augmented per batch)
            or ``torchvision`` (per-sample transforms in loader workers; the only pipeline
            that uses num_workers, pin_memory and persistent_workers).
        random_crop: training augmentation: random crop of the image zero-padded by
            ``crop_padding`` pixels (a random translation).
        crop_padding: border of the random crop.
        horizontal_flip: training augmentation: random left-right flip.
        brightness: training augmentation: ``ColorJitter`` brightness strength (0: off).
        contrast: training augmentation: ``ColorJitter`` contrast strength (0: off).
    """

    name: ClassVar[str]
    native_size: ClassVar[int]
    native_channels: ClassVar[int]
    classes: ClassVar[tuple[str, ...]]
    mean: ClassVar[tuple[float, ...]]
    std: ClassVar[tuple[float, ...]]

    def __init__(
        self,
        data_dir: str | Path,
        batch_size: int = 64,
        val_size: int | float = 5000,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        seed: int = 0,
        download: bool = True,
        image_size: int | None = None,
        num_channels: int | None = None,
        num_classes: int | None = None,
        input_fit: str = "resize",
        normalize: str = "dataset",
        pipeline: str = "tensor",
        random_crop: bool = False,
        crop_padding: int = 4,
        horizontal_flip: bool = False,
        brightness: float = 0.0,
        contrast: float = 0.0,
    ) -> None:
        super().__init__()
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.batch_size = batch_size
        self.val_size = val_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers and num_workers > 0
        self.seed = seed
        self.download = download
        self.image_size = image_size or self.native_size
        self.num_channels = num_channels or self.native_channels
        self.input_fit = input_fit
        self.normalize = normalize
        self.pipeline = pipeline
        self.random_crop = random_crop
        self.crop_padding = crop_padding
        self.horizontal_flip = horizontal_flip
        self.brightness = brightness
        self.contrast = contrast
        self._check_options(num_classes)
        # positions in the official training split of this run's train / validation images
        self.train_indices: list[int] = []
        self.val_indices: list[int] = []
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None

    def _check_options(self, num_classes: int | None) -> None:
        if num_classes is not None and num_classes != len(self.classes):
            raise ConfigError(
                f"data.num_classes={num_classes} but {self.name} has {len(self.classes)} classes"
            )
        if self.num_channels not in (self.native_channels, 3):
            raise ConfigError(
                f"data.num_channels={self.num_channels} is not possible for {self.name}; "
                f"allowed: {self.native_channels} or 3"
            )
        if self.input_fit not in INPUT_FITS:
            raise ConfigError(
                f"data.input_fit={self.input_fit!r} is unknown; allowed: {', '.join(INPUT_FITS)}"
            )
        if self.normalize not in NORMALIZATIONS:
            raise ConfigError(
                f"data.normalize={self.normalize!r} is unknown; "
                f"allowed: {', '.join(NORMALIZATIONS)}"
            )
        if self.normalize == "imagenet" and self.num_channels != 3:
            raise ConfigError(
                f"data.normalize=imagenet needs 3-channel images, got data.num_channels="
                f"{self.num_channels}"
            )
        if self.pipeline not in PIPELINES:
            raise ConfigError(
                f"data.pipeline={self.pipeline!r} is unknown; allowed: {', '.join(PIPELINES)}"
            )
        for key in ("crop_padding", "brightness", "contrast"):
            if getattr(self, key) < 0:
                raise ConfigError(f"data.{key}={getattr(self, key)} must be >= 0 (0 turns it off)")
        if not (self.val_size >= 1 or 0 < self.val_size < 1):
            raise ConfigError(
                f"data.val_size={self.val_size} must be a number of images >= 1 or a fraction "
                f"in (0, 1)"
            )

    # ------------------------------------------------------------------ dataset specifics

    def dataset(self, train: bool, transform: nn.Module | None = None) -> Dataset:
        """The torchvision dataset of the official train or test split."""
        raise NotImplementedError

    def files_present(self) -> bool:
        """Whether the dataset's files are in ``data_dir``."""
        raise NotImplementedError

    def download_files(self) -> None:
        """Download the dataset into ``data_dir`` (torchvision's real download path)."""
        raise NotImplementedError

    def missing_message(self) -> str:
        """What to place where, for the offline error."""
        raise NotImplementedError

    def raw_tensors(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images (N, C, H, W) and int64 labels of the official train or test split."""
        raise NotImplementedError

    def check_files(self) -> None:
        """Raise :class:`DataError` naming the file when one is malformed (default: no check)."""

    # ------------------------------------------------------------------ augmentation

    def train_augmentations(self) -> list[nn.Module]:
        """Per-sample augmentations of the torchvision pipeline (training split only)."""
        steps: list[nn.Module] = []
        if self.random_crop and self.crop_padding:
            steps.append(v2.RandomCrop(self.native_size, padding=self.crop_padding))
        if self.horizontal_flip:
            steps.append(v2.RandomHorizontalFlip())
        if self.brightness or self.contrast:
            steps.append(v2.ColorJitter(brightness=self.brightness, contrast=self.contrast))
        return steps

    def augment_batch(self, images: torch.Tensor) -> torch.Tensor:
        """The same augmentations on a float batch in [0, 1], each image its own draw (tensor
        pipeline; brightness is applied before contrast)."""
        if self.random_crop:
            images = augment.random_crop(images, self.crop_padding)
        if self.horizontal_flip:
            images = augment.random_horizontal_flip(images)
        if self.brightness or self.contrast:
            images = augment.color_jitter(images, self.brightness, self.contrast)
        return images

    # ------------------------------------------------------------------ Lightning hooks

    def prepare_data(self) -> None:
        if self.files_present():
            return
        if not self.download:
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

    def _read(self, train: bool, transform: nn.Module | None) -> Dataset:
        """Open a split — a torchvision dataset, or one uint8 TensorDataset for the tensor
        pipeline — turning any parser failure into one DataError naming the folder."""
        try:
            if self.pipeline == "tensor":
                return TensorDataset(*self.raw_tensors(train))
            return self.dataset(train, transform)
        except DataError:
            raise
        except Exception as error:
            raise DataError(
                f"{self.name} in {self.data_dir} could not be read ({type(error).__name__}: "
                f"{error}). {self.missing_message()}"
            ) from error

    def setup(self, stage: str | None = None) -> None:
        self.check_files()
        if self.train_set is None and stage in (None, "fit", "validate"):
            train_split = self._read(True, self.transform(train=True))
            count = len(train_split)
            val_count = round(self.val_size * count) if self.val_size < 1 else int(self.val_size)
            if not 0 < val_count < count:
                raise ConfigError(
                    f"data.val_size={self.val_size} must be smaller than the {count} training "
                    f"images of {self.name}"
                )
            generator = torch.Generator().manual_seed(self.seed)
            order = torch.randperm(count, generator=generator).tolist()
            val_idx, train_idx = order[:val_count], order[val_count:]
            self.train_indices, self.val_indices = train_idx, val_idx
            if isinstance(train_split, TensorDataset):
                images, labels = train_split.tensors
                self.train_set = TensorDataset(images[train_idx], labels[train_idx])
                self.val_set = TensorDataset(images[val_idx], labels[val_idx])
            else:
                self.train_set = Subset(train_split, train_idx)
                self.val_set = Subset(self._read(True, self.transform(train=False)), val_idx)
            log.info(
                "%s: %d train / %d validation images (seed %d); classes: %s",
                self.name,
                len(train_idx),
                len(val_idx),
                self.seed,
                ", ".join(self.classes),
            )
        if self.test_set is None and stage in (None, "test", "predict"):
            self.test_set = self._read(False, self.transform(train=False))

    def transform(self, train: bool) -> v2.Compose:
        """Per-sample transform: to float tensor, augment, fit to size and channels, normalise.

        Augmentations run at the dataset's own resolution (a 4-pixel crop padding means 4
        pixels of a 32×32 image), before any resize to a model's input size.
        """
        steps: list[nn.Module] = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
        if train:
            steps += self.train_augmentations()
        if self.image_size != self.native_size:
            if self.input_fit == "pad" and self.image_size > self.native_size:
                border = self.image_size - self.native_size
                steps.append(
                    v2.Pad([border // 2, border // 2, border - border // 2, border - border // 2])
                )
            else:
                steps.append(v2.Resize([self.image_size, self.image_size], antialias=True))
        if self.num_channels != self.native_channels:
            steps.append(RepeatChannels(self.num_channels))
        steps.append(v2.Normalize(*self.statistics()))
        return v2.Compose(steps)

    # ------------------------------------------------------------------ tensor pipeline

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Finish a tensor-pipeline batch on its device: to float, augment (training only),
        fit to size and channels, normalise — the per-sample transform's steps, batched."""
        # The torchvision pipeline delivers finished tensors, and the model summary passes its
        # example input through here: only uint8 (images, labels) batches are processed.
        if not isinstance(batch, list | tuple) or batch[0].dtype != torch.uint8:
            return batch
        images, labels = batch
        training = self.trainer is not None and self.trainer.training
        if not training and self.image_size == self.native_size:
            # one fused op: (x / 255 - mean) / std
            scale, shift = self._affine(images.device)
            return torch.addcmul(shift, images.float(), scale), labels
        images = images.float().div_(255)
        if training:
            images = self.augment_batch(images)
        return self.finish_batch(images), labels

    def _affine(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, shift) with x·scale + shift = (x/255 - mean)/std, cached per device."""
        if getattr(self, "_affine_cache", (None,))[0] != device:
            mean, std = (
                torch.tensor(v, device=device).view(1, -1, 1, 1) for v in self.statistics()
            )
            self._affine_cache = (device, 1 / (255 * std), -mean / std)
        return self._affine_cache[1], self._affine_cache[2]

    def finish_batch(self, images: torch.Tensor) -> torch.Tensor:
        """Fit a float batch in [0, 1] to the model's size and channels, then normalise."""
        if self.image_size != self.native_size:
            if self.input_fit == "pad" and self.image_size > self.native_size:
                border = self.image_size - self.native_size
                before, after = border // 2, border - border // 2
                images = F.pad(images, (before, after, before, after))
            else:
                size = [self.image_size, self.image_size]
                images = F.interpolate(images, size, mode="bilinear", antialias=True)
        if self.num_channels != images.shape[1]:
            images = images.expand(-1, self.num_channels, -1, -1)
        scale, shift = self._affine(images.device)
        return torch.addcmul(shift, images, scale * 255)

    def statistics(self) -> tuple[list[float], list[float]]:
        """Mean and std per delivered channel."""
        if self.normalize == "imagenet":
            return imagenet_stats()
        repeat = self.num_channels // len(self.mean)
        return list(self.mean) * repeat, list(self.std) * repeat

    def _device(self) -> torch.device:
        if self.trainer is None:
            return torch.device("cpu")
        return self.trainer.strategy.root_device

    def _shard(self) -> tuple[int, int]:
        if self.trainer is None:
            return 0, 1
        return self.trainer.global_rank, self.trainer.world_size

    # ------------------------------------------------------------------ loaders

    def _current_epoch(self) -> int:
        return self.trainer.current_epoch if self.trainer is not None else 0

    def _loader(self, dataset: Dataset | None, shuffle: bool) -> DataLoader | TensorLoader:
        if dataset is None:
            raise RuntimeError("call setup() before asking for a loader")
        if isinstance(dataset, TensorDataset):
            return TensorLoader(
                *dataset.tensors,
                batch_size=self.batch_size,
                shuffle=shuffle,
                seed=self.seed,
                epoch_fn=self._current_epoch,
                device_fn=self._device,
                shard_fn=self._shard,
            )
        # Shuffled by (seed, epoch) alone, so a resumed run sees the same order.
        sampler = (
            EpochShuffleSampler(len(dataset), self.seed, self._current_epoch) if shuffle else None
        )
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers,
        )

    def train_dataloader(self) -> DataLoader | TensorLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader | TensorLoader:
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> DataLoader | TensorLoader:
        return self._loader(self.test_set, shuffle=False)

    def predict_dataloader(self) -> DataLoader | TensorLoader:
        return self._loader(self.test_set, shuffle=False)

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "val_size": self.val_size}
