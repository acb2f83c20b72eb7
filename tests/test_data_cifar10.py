"""CIFAR-10 data module: torchvision's pickle parser, md5 checks, split, augmentation, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.transforms import v2

from fakedata import CIFAR10_CLASSES
from lightcnn.core.errors import ConfigError, DataError
from lightcnn.data import CIFAR10DataModule
from lightcnn.data.pipelines.fit import FitToInput
from lightcnn.data.sources.cifar import CIFAR10, CIFAR10Source


def transform_types(dm: CIFAR10DataModule, train: bool) -> list[type]:
    return [type(step) for step in dm.transform(train=train).transforms]


def test_parses_the_pickle_batches_and_splits_with_a_seed(cifar10_root: Path) -> None:
    dm = CIFAR10DataModule(
        cifar10_root, pipeline="torchvision", batch_size=25, val_size=100, seed=3
    )
    dm.prepare_data()
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (400, 100, 100)
    assert not set(dm.train_indices) & set(dm.val_indices)
    again = CIFAR10DataModule(cifar10_root, val_size=100, seed=3)
    again.setup("fit")
    assert again.val_indices == dm.val_indices
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (25, 3, 32, 32) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and labels.min() >= 0 and labels.max() <= 9
    assert dm.classes == CIFAR10_CLASSES == tuple(dm.test_set.classes)


def test_default_split_is_45k_train_5k_validation() -> None:
    dm = CIFAR10DataModule("unused")
    assert dm.val_size == 5000 and dm.source.image_size == 32 and dm.input.in_channels == 3


def test_validation_and_test_are_normalised_and_never_augmented(cifar10_root: Path) -> None:
    dm = CIFAR10DataModule(cifar10_root, pipeline="torchvision", val_size=100)
    train_steps, eval_steps = transform_types(dm, True), transform_types(dm, False)
    for step in (v2.RandomCrop, v2.RandomHorizontalFlip, v2.ColorJitter):
        assert step in train_steps and step not in eval_steps
    # The same validation image comes out identical twice (nothing random) and normalised.
    dm.setup("fit")
    first, _ = dm.val_set[0]
    second, _ = dm.val_set[0]
    torch.testing.assert_close(first, second)
    raw = torch.as_tensor(dm.val_set.dataset.data[dm.val_indices[0]]).permute(2, 0, 1) / 255
    mean = torch.tensor(dm.source.mean).view(3, 1, 1)
    std = torch.tensor(dm.source.std).view(3, 1, 1)
    torch.testing.assert_close(first, (raw - mean) / std)


def test_each_augmentation_switches_off(cifar10_root: Path) -> None:
    plain = CIFAR10DataModule(
        cifar10_root, random_crop=False, horizontal_flip=False, brightness=0, contrast=0
    )
    assert plain.augmentation.per_sample(32) == []
    only_flip = CIFAR10DataModule(
        cifar10_root, random_crop=False, horizontal_flip=True, brightness=0, contrast=0
    )
    assert [type(s) for s in only_flip.augmentation.per_sample(32)] == [v2.RandomHorizontalFlip]
    crop = CIFAR10DataModule(cifar10_root, crop_padding=6).augmentation.per_sample(32)[0]
    assert isinstance(crop, v2.RandomCrop) and crop.padding == [6, 6, 6, 6]
    with pytest.raises(
        ConfigError, match="data.brightness=-0.1 is not allowed: it must be a number >= 0"
    ):
        CIFAR10DataModule(cifar10_root, brightness=-0.1)


def test_augmentation_runs_at_32_before_the_resize_to_the_model_input(cifar10_root: Path) -> None:
    imagenet = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    dm = CIFAR10DataModule(
        cifar10_root, pipeline="torchvision", val_size=100, input={"image_size": 224, **imagenet}
    )
    steps = transform_types(dm, True)
    assert steps.index(v2.RandomCrop) < steps.index(FitToInput)
    dm.setup("fit")
    image, _ = dm.train_set[0]
    assert image.shape == (3, 224, 224)
    fit = dm.transform(train=False).transforms[-1]
    assert list(fit.spec.mean) == imagenet["mean"] and list(fit.spec.std) == imagenet["std"]


def test_checksum_mismatch_is_a_clear_error_and_the_check_stays_on(cifar10_files: Path) -> None:
    """Without the test's checksum patch the generated files are not the official ones."""
    dm = CIFAR10DataModule(cifar10_files, val_size=100, download=False)
    dm.prepare_data()  # the files are there
    with pytest.raises(DataError, match="do not match the official md5") as error:
        dm.setup("fit")
    assert "data_batch_1" in str(error.value) and "batches.meta" in str(error.value)


def test_offline_without_files_names_the_folder_and_files(tmp_path: Path) -> None:
    dm = CIFAR10DataModule(tmp_path / "none", download=False)
    with pytest.raises(DataError) as error:
        dm.prepare_data()
    message = str(error.value)
    assert str(tmp_path / "none" / "cifar-10-batches-py") in message
    for name in ("data_batch_1", "data_batch_5", "test_batch", "batches.meta"):
        assert name in message


def test_failed_download_keeps_the_real_download_path_and_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def offline(self, *args, **kwargs) -> None:
        calls.append(self.root)
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(CIFAR10, "download", offline)
    dm = CIFAR10DataModule(tmp_path / "none", download=True)
    with pytest.raises(DataError, match="download failed.*network unreachable"):
        dm.prepare_data()
    assert calls, "torchvision's CIFAR10 download was not called"


def test_wrong_class_names_in_batches_meta_are_an_error(
    cifar10_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CIFAR10Source, "classes", tuple("abcdefghij"))
    with pytest.raises(DataError, match="names the classes airplane"):
        CIFAR10DataModule(cifar10_root, val_size=100).setup("test")
