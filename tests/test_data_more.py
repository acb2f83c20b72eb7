"""Fashion-MNIST, KMNIST, CIFAR-100 and SVHN by name: small files in each real on-disk format
(IDX gzipped as published, CIFAR-100's pickles, SVHN's MATLAB files) read by torchvision's own
parsers through both pipelines; the offline error names the folder to fill."""

from __future__ import annotations

import gzip
import pickle
import sys
from pathlib import Path

import pytest
import torch
from torchvision.datasets import KMNIST, FashionMNIST

from lightcnn.core.errors import DataError
from lightcnn.data import (
    CIFAR100Source,
    FashionMNISTSource,
    KMNISTSource,
    SVHNSource,
    open_source,
)
from lightcnn.data.module import ImageDataModule


@pytest.fixture
def roots(fashion_mnist_root, kmnist_root, cifar100_root, svhn_root) -> dict[str, Path]:
    return {
        "fashion_mnist": fashion_mnist_root,
        "kmnist": kmnist_root,
        "cifar100": cifar100_root,
        "svhn": svhn_root,
    }


# dataset → (train count, test count, channels, classes, its class names' first)
EXPECTED = {
    "fashion_mnist": (300, 100, 1, 10, "T-shirt/top"),
    "kmnist": (300, 100, 1, 10, "o"),
    "cifar100": (300, 100, 3, 100, "apple"),
    "svhn": (300, 100, 3, 10, "0"),
}


@pytest.mark.parametrize("pipeline", ["tensor", "torchvision"])
@pytest.mark.parametrize("dataset", EXPECTED)
def test_each_dataset_reads_its_real_format(roots, dataset: str, pipeline: str) -> None:
    train, test, channels, classes, first = EXPECTED[dataset]
    side = 28 if channels == 1 else 32
    dm = ImageDataModule(
        dataset, roots[dataset], val_size=50, batch_size=10, pipeline=pipeline, download=False
    )
    dm.prepare_data()
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (train - 50, 50, test)
    assert len(dm.classes) == classes and dm.classes[0] == first
    images, _ = dm.test_set[0] if pipeline == "torchvision" else dm.test_set[:1]
    shape = images.shape[-3:]
    assert tuple(shape) == (channels, side, side)
    assert dm.input.mean == dm.source.mean  # its published statistics


def test_the_idx_datasets_are_torchvision_s_own(roots) -> None:
    assert FashionMNISTSource.classes == tuple(FashionMNIST.classes)
    assert KMNISTSource.classes == tuple(KMNIST.classes)
    raw = roots["fashion_mnist"] / "FashionMNIST" / "raw"
    # the fixture holds the published .gz files only; a source finds them and unpacks them
    assert FashionMNISTSource(roots["fashion_mnist"]).files_present()
    assert (raw / "train-images-idx3-ubyte").is_file()
    images, labels = FashionMNISTSource(roots["fashion_mnist"]).raw_tensors("test")
    assert images.shape == (100, 1, 28, 28) and images.dtype == torch.uint8
    expected = gzip.decompress((raw / "t10k-labels-idx1-ubyte.gz").read_bytes())[8:]
    assert labels.tolist() == list(expected)


def test_cifar100_uses_its_fine_labels(roots) -> None:
    images, labels = CIFAR100Source(roots["cifar100"]).raw_tensors("train")
    entry = pickle.loads((roots["cifar100"] / "cifar-100-python" / "train").read_bytes())
    assert labels.tolist() == entry["fine_labels"] and labels.max() > 19
    assert images.shape == (300, 3, 32, 32)


def test_svhn_maps_10_to_the_digit_0_and_can_add_extra(roots) -> None:
    from scipy.io import loadmat

    source = SVHNSource(roots["svhn"])
    _, labels = source.raw_tensors("test")
    y = loadmat(roots["svhn"] / "SVHN" / "test_32x32.mat")["y"].ravel()
    assert labels.tolist() == [0 if v == 10 else int(v) for v in y]
    assert 0 in labels.tolist() and 10 not in labels.tolist()
    extra = open_source({"dataset": "svhn", "data_dir": str(roots["svhn"]), "extra": True})
    assert len(extra.raw_tensors("train")[1]) == 350
    assert len(extra.torchvision_dataset("train")) == 350


@pytest.mark.parametrize(
    ("dataset", "folder", "names"),
    [
        ("fashion_mnist", "FashionMNIST/raw", "train-images-idx3-ubyte"),
        ("kmnist", "KMNIST/raw", "codh.rois.ac.jp"),
        ("cifar100", "cifar-100-python", "cifar-100-python.tar.gz"),
        ("svhn", "SVHN", "train_32x32.mat (http://ufldl.stanford.edu"),
    ],
)
def test_offline_the_error_names_the_folder_to_fill(
    tmp_path: Path, dataset: str, folder: str, names: str
) -> None:
    source = open_source({"dataset": dataset, "data_dir": str(tmp_path)})
    with pytest.raises(DataError) as error:
        source.ensure_files(download=False)
    message = str(error.value)
    assert f"{source.name} not found (data.download=false)" in message
    assert str(tmp_path / folder) in message and names in message
    assert "\n" not in message


def test_a_corrupt_svhn_file_is_named(svhn_files: Path, tmp_path: Path) -> None:
    folder = tmp_path / "SVHN"
    folder.mkdir()
    for name in ("train_32x32.mat", "test_32x32.mat"):
        (folder / name).write_bytes((svhn_files / "SVHN" / name).read_bytes()[:100])
    with pytest.raises(DataError, match="train_32x32.mat, test_32x32.mat"):
        SVHNSource(tmp_path).check_files()


def test_svhn_without_scipy_names_the_extra_to_install(
    svhn_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # scipy is the `svhn` extra, not a dependency: without it the error says what to install
    monkeypatch.setitem(sys.modules, "scipy.io", None)  # `import scipy.io` raises ImportError
    with pytest.raises(DataError, match=r"pip install 'lightcnn\[svhn\]'"):
        SVHNSource(svhn_root).raw_tensors("test")
