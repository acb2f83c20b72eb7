"""ImageDataModule: the one LightningDataModule, over any dataset of :data:`DATASETS` (an
image folder of one's own included).

It brings the dataset's images to the model's input (:class:`~lightcnn.models.InputSpec`,
resolved against the dataset), holds out a seeded validation split, and serves loaders through
one of two pipelines that deliver the same images (:mod:`lightcnn.data.pipelines`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

from lightcnn.core.errors import DataError
from lightcnn.data.options import check_data_options
from lightcnn.data.pipelines import TENSOR_LIMIT_BYTES, choose_pipeline
from lightcnn.data.pipelines.augment import Augmentation
from lightcnn.data.pipelines.fit import FitToInput
from lightcnn.data.pipelines.per_sample import per_sample_transform
from lightcnn.data.pipelines.tensor import TensorLoader, finish_batch
from lightcnn.data.sampler import EpochShuffleSampler
from lightcnn.data.sources import open_source
from lightcnn.data.sources.folder import FolderSource, byte_size
from lightcnn.data.split import split_indices, validation_count
from lightcnn.models.input_spec import InputSpec

log = logging.getLogger(__name__)


class ImageDataModule(L.LightningDataModule):
    """Train / validation / test loaders over a dataset, fitted to the model's input.

    Args:
        dataset: a key of :data:`~lightcnn.data.DATASETS` (``mnist``, ``cifar10``, ``folder``,
            ...).
        data_dir: folder holding the dataset in torchvision's layout.
        batch_size: samples per training batch.
        eval_batch_size: samples per validation, test and predict batch; None: ``batch_size``.
            No gradients are kept there, so a larger batch costs little memory and saves
            per-batch overhead.
        val_size: training images held out for validation (seeded split): a count, or a
            fraction of the training set when below 1.
        num_workers: loader worker processes (torchvision pipeline).
        pin_memory: pin host memory for faster copies to the GPU (torchvision pipeline).
        persistent_workers: keep workers alive between epochs (torchvision pipeline).
        seed: seed of the train/validation split and of the shuffling.
        download: download the dataset into ``data_dir`` when it is missing.
        num_classes: expected number of classes (checked against the dataset), or None.
        pipeline: ``tensor`` (batches from one device-resident tensor, finished per batch on
            that device), ``torchvision`` (per-sample transforms in loader workers) or
            ``auto`` (tensor when the decoded images fit, see ``data/pipelines``).
        random_crop: training augmentation: random crop of the image zero-padded by
            ``crop_padding`` pixels (a random translation).
        crop_padding: border of the random crop.
        horizontal_flip: training augmentation: random left-right flip.
        brightness: training augmentation: ``ColorJitter`` brightness strength (0: off).
        contrast: training augmentation: ``ColorJitter`` contrast strength (0: off).
        root: ``folder``: the image folder (``root/train/<class>/*``, optional ``val/``,
            ``test/``).
        image_size: ``folder``: the side images are brought to (None: their own).
        channels: ``folder``: 1 or 3 (None: grey when every image is).
        skip_bad_files: ``folder``: leave unreadable files out instead of stopping.
        cache_dir: ``folder``: where the decoded images are cached.
        extra: ``svhn``: add the ``extra`` split to the training split.
        facts: what a run recorded of its dataset (:meth:`DatasetSource.facts`); a folder is
            then read as it was in training.
        input: what the model takes (an :class:`InputSpec` or its dict); open fields take the
            dataset's values. None: the dataset's images as they are, normalised.
    """

    def __init__(
        self,
        dataset: str = "mnist",
        data_dir: str | Path = "data",
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        val_size: int | float = 5000,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        seed: int = 0,
        download: bool = True,
        num_classes: int | None = None,
        pipeline: str = "tensor",
        random_crop: bool = False,
        crop_padding: int = 4,
        horizontal_flip: bool = False,
        brightness: float = 0.0,
        contrast: float = 0.0,
        root: str | None = None,
        image_size: int | None = None,
        channels: int | None = None,
        skip_bad_files: bool = False,
        cache_dir: str | None = None,
        extra: bool = False,
        facts: Mapping[str, Any] | None = None,
        input: InputSpec | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        options = {key: value for key, value in locals().items() if key not in ("self", "input")}
        options.pop("__class__", None)
        options["data_dir"] = str(data_dir)
        check_data_options(options)
        self.source = open_source(options)
        self.input: InputSpec = InputSpec.from_dict(input).resolve(self.source)
        # The checkpoint records which data the model saw and what it looked like (primitives
        # only); the model's checkpoint carries the resolved input itself.
        options["facts"] = self.source.facts()
        options["num_classes"] = len(self.classes)  # null: the dataset's, as the model's
        self.save_hyperparameters(options)
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.val_size = val_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers and num_workers > 0
        self.seed = seed
        self.download = download
        folder = isinstance(self.source, FolderSource)
        self.pipeline = choose_pipeline(pipeline, self.source.decoded_bytes() if folder else None)
        if pipeline == "auto" and folder:
            how = "held in memory" if self.pipeline == "tensor" else "each file read per sample"
            log.info(
                "data.pipeline=auto: %s, %s (the decoded images take %s; auto holds up to %s)",
                self.pipeline,
                how,
                byte_size(self.source.decoded_bytes()),
                byte_size(TENSOR_LIMIT_BYTES),
            )
        self.augmentation = Augmentation(
            random_crop, crop_padding, horizontal_flip, brightness, contrast
        )
        self.fit_to_input = FitToInput(self.input, self.source.image_size)
        # positions in the official training split of this run's train / validation images
        self.train_indices: list[int] = []
        self.val_indices: list[int] = []
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None

    @property
    def name(self) -> str:
        """The dataset's name (``MNIST``, ``CIFAR-10``)."""
        return self.source.name

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names, in label order."""
        return self.source.classes

    @property
    def data_dir(self) -> Path:
        return self.source.data_dir

    @property
    def has_test(self) -> bool:
        """Whether the dataset has a test split (an image folder without ``test/`` has none)."""
        return self.source.has_test

    def transform(self, train: bool) -> torch.nn.Module:
        """The per-sample transform of a split (torchvision pipeline)."""
        return per_sample_transform(self.fit_to_input, self.augmentation if train else None)

    # ------------------------------------------------------------------ Lightning hooks

    def prepare_data(self) -> None:
        self.source.ensure_files(self.download)

    def setup(self, stage: str | None = None) -> None:
        self.source.check_files()
        if isinstance(self.source, FolderSource):
            self.source.report()
        tensors = self.pipeline == "tensor"
        if self.train_set is None and stage in (None, "fit", "validate"):
            self._setup_train_and_val(tensors)
        if self.test_set is None and stage in (None, "test", "predict"):
            if not self.has_test:
                if stage is None:
                    return
                raise DataError(
                    f"{self.name} has no test split ({self.data_dir} has no test/ folder): "
                    "evaluate its validation split, split=val"
                )
            self.test_set = self.source.read("test", self.transform(train=False), tensors=tensors)

    def _setup_train_and_val(self, tensors: bool) -> None:
        train_split = self.source.read("train", self.transform(train=True), tensors=tensors)
        count = len(train_split)
        if self.source.has_val:  # validation files of its own
            self.train_indices, self.val_indices = list(range(count)), []
            self.train_set = train_split
            self.val_set = self.source.read("val", self.transform(train=False), tensors=tensors)
            held_out = f"{len(self.val_set):,} validation images (its val/ folder)"
        else:
            held = validation_count(self.val_size, count, self.name)
            self.train_indices, self.val_indices = split_indices(count, held, self.seed)
            if isinstance(train_split, TensorDataset):
                images, labels = train_split.tensors
                self.train_set = TensorDataset(
                    images[self.train_indices], labels[self.train_indices]
                )
                self.val_set = TensorDataset(images[self.val_indices], labels[self.val_indices])
            else:
                self.train_set = Subset(train_split, self.train_indices)
                val_split = self.source.read("train", self.transform(train=False), tensors=False)
                self.val_set = Subset(val_split, self.val_indices)
            held_out = f"{len(self.val_indices):,} validation images (seed {self.seed})"
        shown = ", ".join(self.classes[:12]) + (
            f", … ({len(self.classes)} classes)" if len(self.classes) > 12 else ""
        )
        log.info(
            "%s: %s train / %s; classes: %s",
            self.name,
            f"{len(self.train_set):,}",
            held_out,
            shown,
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Finish a tensor-pipeline batch on its device (:func:`finish_batch`)."""
        # The torchvision pipeline delivers finished tensors, and the model summary passes its
        # example input through here: only uint8 (images, labels) batches are processed.
        if not isinstance(batch, list | tuple) or batch[0].dtype != torch.uint8:
            return batch
        images, labels = batch
        training = self.trainer is not None and self.trainer.training
        augmentation = self.augmentation if training else None
        return finish_batch(images, self.fit_to_input, augmentation), labels

    # ------------------------------------------------------------------ loaders

    def _current_epoch(self) -> int:
        return self.trainer.current_epoch if self.trainer is not None else 0

    def _device(self) -> torch.device:
        return self.trainer.strategy.root_device if self.trainer else torch.device("cpu")

    def _shard(self) -> tuple[int, int]:
        return (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)

    def _loader(self, dataset: Dataset | None, shuffle: bool) -> DataLoader | TensorLoader:
        """Training batches (``shuffle``) or evaluation batches of ``dataset``."""
        batch_size = self.batch_size if shuffle else self.eval_batch_size
        if dataset is None:
            raise RuntimeError("call setup() before asking for a loader")
        if isinstance(dataset, TensorDataset):
            return TensorLoader(
                *dataset.tensors,
                batch_size=batch_size,
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
        rank, world_size = self._shard()
        if not shuffle and world_size > 1:
            # each sample once across the ranks (Lightning's default sampler pads with repeats)
            from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler

            sampler = UnrepeatedDistributedSampler(
                dataset, num_replicas=world_size, rank=rank, shuffle=False
            )
        return DataLoader(
            dataset,
            batch_size=batch_size,
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


class MNISTDataModule(ImageDataModule):
    """MNIST (55k train / 5k validation by default, the official 10k test); no augmentation
    by default. See :class:`ImageDataModule` for the arguments."""

    def __init__(self, data_dir: str | Path = "data", **kwargs: Any) -> None:
        super().__init__("mnist", data_dir, **kwargs)


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10 (45k train / 5k validation by default, the official 10k test); training
    images are augmented at 32×32 by default (crop with 4-pixel padding, flip, brightness and
    contrast 0.2), validation and test images never. See :class:`ImageDataModule`."""

    def __init__(
        self,
        data_dir: str | Path = "data",
        random_crop: bool = True,
        crop_padding: int = 4,
        horizontal_flip: bool = True,
        brightness: float = 0.2,
        contrast: float = 0.2,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            "cifar10",
            data_dir,
            random_crop=random_crop,
            crop_padding=crop_padding,
            horizontal_flip=horizontal_flip,
            brightness=brightness,
            contrast=contrast,
            **kwargs,
        )
