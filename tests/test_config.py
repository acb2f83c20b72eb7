"""Every config group option composes and resolves; the config is found from any directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from lightcnn.config import CONF_DIR

GROUPS = (
    "model",
    "data",
    "trainer",
    "logger",
    "callbacks",
    "paths",
    "hydra",
    "experiment",
    "debug",
)


def options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))


def test_every_group_has_options() -> None:
    for group in GROUPS:
        assert options(group), f"conf/{group}/ is empty"


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in options(g)])
def test_each_option_composes_and_resolves(make_cfg, group: str, option: str) -> None:
    cfg = make_cfg(f"{group}={option}")
    resolved = {
        key: OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        for key, value in cfg.items()
        if key != "hydra"
    }
    assert str(cfg.hydra.run.dir)
    assert resolved["model"]["num_classes"] == resolved["data"]["num_classes"]
    assert resolved["model"]["in_channels"] == resolved["data"]["num_channels"]
    assert resolved["model"]["image_size"] == resolved["data"]["image_size"]


def test_defaults_are_lenet5_on_mnist(make_cfg) -> None:
    cfg = make_cfg()
    assert cfg.model.arch == "lenet5"
    assert cfg.data._target_ == "lightcnn.data.MNISTDataModule"
    assert cfg.model.image_size == 28 and cfg.model.in_channels == 1


def test_model_input_size_flows_into_the_data_transforms(make_cfg) -> None:
    cfg = make_cfg("model=lenet5_1998")
    assert cfg.data.image_size == 32 and cfg.data.input_fit == "pad"
    assert cfg.model.image_size == 32


def test_ordinary_overrides_reach_the_objects(make_cfg) -> None:
    cfg = make_cfg(
        "trainer.max_epochs=3", "data.batch_size=256", "model.lr=0.003", "seed=7", "trainer=cpu"
    )
    assert instantiate(cfg.data).batch_size == 256
    model = instantiate(cfg.model, _convert_="all")
    assert model.hparams.lr == 0.003
    assert cfg.trainer.max_epochs == 3 and cfg.trainer.accelerator == "cpu"
    assert cfg.data.seed == 7


def test_data_dir_env_var_is_the_default(monkeypatch, make_cfg, tmp_path: Path) -> None:
    monkeypatch.setenv("LIGHTCNN_DATA_DIR", str(tmp_path / "elsewhere"))
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train")
    assert cfg.paths.data_dir == str(tmp_path / "elsewhere")
    GlobalHydra.instance().clear()
