"""Shared fixtures: small datasets in real formats, composed configs, the CLI in a subprocess."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torchvision
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from torchvision.datasets import CIFAR10, CIFAR100, SVHN

import lightcnn
from fakedata import (
    write_cifar10,
    write_cifar100,
    write_idx_gz,
    write_image_folder,
    write_mnist,
    write_svhn,
)
from lightcnn.config import CONF_DIR
from lightcnn.config.validation import model_input
from lightcnn.models import InputSpec

REAL_DATA_DIR = os.environ.get("LIGHTCNN_DATA_DIR")


def real_mnist_root() -> Path | None:
    """The folder holding real MNIST (LIGHTCNN_DATA_DIR), or None."""
    if (
        REAL_DATA_DIR
        and (Path(REAL_DATA_DIR) / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    ):
        return Path(REAL_DATA_DIR)
    return None


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small MNIST (600 train, 200 test) in torchvision's raw IDX layout."""
    return write_mnist(tmp_path_factory.mktemp("mnist"))


@pytest.fixture(scope="session", autouse=True)
def image_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Decoded image folders are cached here (LIGHTCNN_CACHE_DIR, for the subprocesses too),
    never in the checkout."""
    folder = tmp_path_factory.mktemp("image_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIGHTCNN_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small image folder: ``train/`` and ``test/`` of three classes, 16×16 grey PNGs."""
    return write_image_folder(tmp_path_factory.mktemp("images") / "shapes")


@pytest.fixture
def make_cfg(tmp_path: Path, mnist_root: Path) -> Callable[..., DictConfig]:
    """Compose ``train.yaml`` with overrides, on the small MNIST, writing under ``tmp_path``."""

    def _make(*overrides: str, config_name: str = "train") -> DictConfig:
        GlobalHydra.instance().clear()
        base = [
            f"paths.data_dir={mnist_root}",
            f"paths.log_dir={tmp_path / 'logs'}",
            f"hydra.run.dir={tmp_path / 'run'}",
            "data.val_size=100",
            "data.num_workers=0",
            "trainer.accelerator=cpu",
        ]
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name, overrides=[*base, *overrides], return_hydra_config=True)
        HydraConfig().set_config(cfg)
        with open_dict(cfg):
            cfg.paths.output_dir = str(cfg.hydra.run.dir)
        return cfg

    yield _make
    GlobalHydra.instance().clear()


def input_of(cfg: DictConfig) -> InputSpec:
    """The input the composed config's model gets from its data (the resolved contract)."""
    plain = OmegaConf.to_container
    return model_input(plain(cfg.model, resolve=True), plain(cfg.data, resolve=True))


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a subprocess that imports the same ``lightcnn`` as the tests (its
    folder leads PYTHONPATH), whatever its working directory, plus ``env``."""
    package_root = str(Path(lightcnn.__file__).resolve().parents[1])
    python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": python_path, **(env or {})}


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, module: str = "lightcnn.train"
) -> subprocess.CompletedProcess:
    """Run ``python -m <module> <args>`` in a subprocess (:func:`cli_env`) and capture its
    output."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def cifar10_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small CIFAR-10 (500 train, 100 test) in torchvision's ``cifar-10-batches-py`` format."""
    return write_cifar10(tmp_path_factory.mktemp("cifar10"))


@pytest.fixture
def cifar10_root(cifar10_files: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The small CIFAR-10, with torchvision's expected md5s set to its files' for this test.

    torchvision checks every file against the official md5; the check stays on (for users and
    in the parser): only the table of expected checksums is patched.
    """
    folder = cifar10_files / CIFAR10.base_folder
    md5 = {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in folder.iterdir()}
    monkeypatch.setattr(CIFAR10, "train_list", [[n, md5[n]] for n, _ in CIFAR10.train_list])
    monkeypatch.setattr(CIFAR10, "test_list", [[n, md5[n]] for n, _ in CIFAR10.test_list])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5[CIFAR10.meta["filename"]]})
    return cifar10_files


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def fashion_mnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Fashion-MNIST: the four IDX files gzipped as published, in ``FashionMNIST/raw``."""
    return write_idx_gz(tmp_path_factory.mktemp("fashion_mnist"), "FashionMNIST")


@pytest.fixture(scope="session")
def kmnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small KMNIST: the four IDX files gzipped as published, in ``KMNIST/raw``."""
    return write_idx_gz(tmp_path_factory.mktemp("kmnist"), "KMNIST")


@pytest.fixture(scope="session")
def cifar100_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cifar100(tmp_path_factory.mktemp("cifar100"))


@pytest.fixture
def cifar100_root(cifar100_files: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small CIFAR-100 (300 train, 100 test), torchvision's md5 table set to its files'."""
    folder = cifar100_files / CIFAR100.base_folder
    monkeypatch.setattr(CIFAR100, "train_list", [["train", _md5(folder / "train")]])
    monkeypatch.setattr(CIFAR100, "test_list", [["test", _md5(folder / "test")]])
    monkeypatch.setattr(CIFAR100, "meta", {**CIFAR100.meta, "md5": _md5(folder / "meta")})
    return cifar100_files


@pytest.fixture(scope="session")
def svhn_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_svhn(tmp_path_factory.mktemp("svhn"))


@pytest.fixture
def svhn_root(svhn_files: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small SVHN (300 train, 100 test, 50 extra), torchvision's md5 table set to its files'."""
    table = {
        split: [url, name, _md5(svhn_files / "SVHN" / name)]
        for split, (url, name, _) in SVHN.split_list.items()
    }
    monkeypatch.setattr(SVHN, "split_list", table)
    return svhn_files


@pytest.fixture(scope="session")
def alexnet_weights_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TORCH_HOME whose hub cache holds a random torchvision AlexNet state dict under the
    ImageNet weights' file name, so torchvision's real loading path reads it."""
    home = tmp_path_factory.mktemp("torch_home")
    checkpoints = home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet().state_dict(), checkpoints / "alexnet-owt-7be5be79.pth")
    return home


@pytest.fixture
def torch_home(alexnet_weights_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TORCH_HOME set to the folder with the cached AlexNet weights, for this test."""
    monkeypatch.setenv("TORCH_HOME", str(alexnet_weights_home))
    return alexnet_weights_home


def compose_job(config_name: str, overrides: list[str], output_dir: Path) -> DictConfig:
    """Compose an entry config as Hydra would for a run in ``output_dir`` (its folder is the
    run's ``paths.output_dir``); the Hydra config is set for the job, as ``@hydra.main`` does."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name,
            overrides=[*overrides, f"hydra.run.dir={output_dir}"],
            return_hydra_config=True,
        )
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, mnist_root: Path) -> Path:
    """A short, imperfect LeNet-5 run on the small MNIST (two epochs of 6 batches; it tests its
    best checkpoint): its run directory, with ``report/``, ``metrics.json`` and checkpoints."""
    from lightcnn.train import train

    run_dir = tmp_path_factory.mktemp("trained") / "run"
    overrides = [
        f"paths.data_dir={mnist_root}",
        "data.val_size=100",
        "data.num_workers=0",
        "data.batch_size=32",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=6",
        "trainer.log_every_n_steps=2",
        "tags=[fixture]",
    ]
    try:
        train(compose_job("train", overrides, run_dir))
    finally:
        GlobalHydra.instance().clear()
    return run_dir


def best_checkpoint(run_dir: Path) -> Path:
    """The run's best checkpoint (the one it tested)."""
    (path,) = (run_dir / "checkpoints").glob("epoch*.ckpt")
    return path
