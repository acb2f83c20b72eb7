"""MNIST data module: real IDX parsing, seeded split, transforms, offline errors."""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from torchvision.datasets import MNIST

from lightcnn.core.errors import ConfigError, DataError
from lightcnn.data import MNISTDataModule


def test_split_is_seeded_and_disjoint_and_test_stays_test(mnist_root: Path) -> None:
    dm = MNISTDataModule(mnist_root, pipeline="torchvision", batch_size=50, val_size=100, seed=3)
    dm.prepare_data()
    dm.setup()
    assert len(dm.train_set) == 500 and len(dm.val_set) == 100 and len(dm.test_set) == 200
    assert not set(dm.train_indices) & set(dm.val_indices)
    again = MNISTDataModule(mnist_root, val_size=100, seed=3)
    again.setup()
    assert again.val_indices == dm.val_indices
    other = MNISTDataModule(mnist_root, val_size=100, seed=4)
    other.setup()
    assert other.val_indices != dm.val_indices
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (50, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64


def test_images_are_normalised_with_mnist_statistics(mnist_root: Path) -> None:
    dm = MNISTDataModule(mnist_root, pipeline="torchvision", val_size=100)
    dm.setup("test")
    image, label = dm.test_set[0]
    raw, raw_label = MNIST(mnist_root, train=False)[0]
    expected = (torch.from_numpy(np.array(raw)).float() / 255 - 0.1307) / 0.3081
    torch.testing.assert_close(image[0], expected)
    assert label == raw_label


def test_pad_and_resize_and_channel_repeat(mnist_root: Path) -> None:
    padded = MNISTDataModule(
        mnist_root, pipeline="torchvision", val_size=100, input={"image_size": 32, "fit": "pad"}
    )
    padded.setup("test")
    image, _ = padded.test_set[0]
    assert image.shape == (1, 32, 32)
    background = (0 - 0.1307) / 0.3081
    border = torch.cat([image[0, :2].flatten(), image[0, -2:].flatten(), image[0, :, :2].flatten()])
    torch.testing.assert_close(border, torch.full_like(border, background))
    assert image[0, 2:-2, 2:-2].max() > 2.0  # the digit's bright bar stays inside
    resized = MNISTDataModule(
        mnist_root, pipeline="torchvision", val_size=100, input={"image_size": 64, "in_channels": 3}
    )
    resized.setup("test")
    image, _ = resized.test_set[0]
    assert image.shape == (3, 64, 64)
    torch.testing.assert_close(image[0], image[2])


def test_missing_files_without_download_name_the_folder_and_files(tmp_path: Path) -> None:
    dm = MNISTDataModule(tmp_path, download=False)
    with pytest.raises(DataError) as error:
        dm.prepare_data()
    message = str(error.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "t10k-labels-idx1-ubyte" in message and "LIGHTCNN_DATA_DIR" in message


def test_a_failed_download_gives_the_same_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(self) -> None:
        raise URLError("no network")

    monkeypatch.setattr(MNIST, "download", offline)
    with pytest.raises(DataError, match="download failed .*no network.*train-images-idx3-ubyte"):
        MNISTDataModule(tmp_path).prepare_data()


def test_bad_options_are_config_errors(mnist_root: Path) -> None:
    with pytest.raises(ConfigError, match="data.num_classes=5"):
        MNISTDataModule(mnist_root, num_classes=5)
    with pytest.raises(ConfigError, match="model.input.fit='crop'"):
        MNISTDataModule(mnist_root, input={"fit": "crop"})
    dm = MNISTDataModule(mnist_root, val_size=600)
    with pytest.raises(ConfigError, match="data.val_size=600 must be smaller than the 600"):
        dm.setup()


@pytest.mark.parametrize("pipeline", ["tensor", "torchvision"])
def test_evaluation_batches_have_their_own_size(mnist_root: Path, pipeline: str) -> None:
    dm = MNISTDataModule(
        mnist_root, pipeline=pipeline, batch_size=50, eval_batch_size=80, val_size=100
    )
    dm.setup()
    assert len(next(iter(dm.train_dataloader()))[0]) == 50
    assert [len(labels) for _, labels in dm.val_dataloader()] == [80, 20]
    assert len(next(iter(dm.test_dataloader()))[0]) == 80
    same = MNISTDataModule(mnist_root, pipeline=pipeline, batch_size=50, val_size=100)
    same.setup("fit")
    assert [len(labels) for _, labels in same.val_dataloader()] == [50, 50]
    with pytest.raises(ConfigError, match="data.eval_batch_size=0"):
        MNISTDataModule(mnist_root, eval_batch_size=0)
