"""Shared fixtures: small datasets in real formats, composed configs, the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from fakedata import write_mnist
from lightcnn.config import CONF_DIR

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


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, module: str = "lightcnn.train"
) -> subprocess.CompletedProcess:
    """Run ``python -m <module> <args>`` in a subprocess and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
