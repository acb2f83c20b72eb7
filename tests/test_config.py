"""Every config group option composes and resolves; the config is found from any directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from conftest import input_of
from lightcnn.config import CONF_DIR
from lightcnn.launch.build import build_data_and_model

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
    "optim",
    "hparams_search",
    "hydra/launcher",
)


def options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))


def test_every_group_has_options() -> None:
    for group in GROUPS:
        assert options(group), f"conf/{group}/ is empty"


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in options(g)])
def test_each_option_composes_and_resolves(make_cfg, image_folder, group: str, option: str) -> None:
    # optim presets merge into the model node: optim@model=<preset>
    chosen = f"optim@model={option}" if group == "optim" else f"{group}={option}"
    # the options that need a value of the user's: an image folder, a network's import path
    needs = {
        "data=folder": [f"data.root={image_folder}", "data.val_size=0.2"],
        "model=custom": ["model.net._target_=torch.nn.Identity"],
    }
    cfg = make_cfg(chosen, *needs.get(chosen, []))
    resolved = {
        key: OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        for key, value in cfg.items()
        if key != "hydra"
    }
    assert str(cfg.hydra.run.dir)
    assert resolved["model"]["num_classes"] == resolved["data"]["num_classes"]  # null: a folder's
    assert input_of(cfg).resolved  # the model's input contract resolves against its data


def test_defaults_are_lenet5_on_mnist(make_cfg) -> None:
    cfg = make_cfg()
    assert cfg.model.arch == "lenet5"
    assert cfg.data.dataset == "mnist"
    assert (input_of(cfg).image_size, input_of(cfg).in_channels) == (28, 1)


def test_model_input_flows_into_the_data_and_the_checkpoint(make_cfg) -> None:
    cfg = make_cfg("model=lenet5_1998")
    datamodule, model = build_data_and_model(cfg)
    assert (datamodule.input.image_size, datamodule.input.fit) == (32, "pad")
    assert model.input_spec == datamodule.input  # built for exactly what the data delivers
    assert model.hparams.input == datamodule.input.to_dict()  # carried by its checkpoints


def test_optim_presets_switch_the_optimizer_and_keep_the_model_options(make_cfg) -> None:
    assert make_cfg().model.optimizer == "adamw"
    assert make_cfg("model=alexnet_cifar").model.optimizer == "sgd"
    switched = make_cfg("model=lenet5_1998", "optim@model=sgd")
    assert (switched.model.optimizer, switched.model.scheduler) == ("sgd", "cosine")
    assert switched.model.arch == "lenet5_1998" and switched.model.lr == 0.003


def test_ordinary_overrides_reach_the_objects(make_cfg) -> None:
    cfg = make_cfg(
        "trainer.max_epochs=3", "data.batch_size=256", "model.lr=0.003", "seed=7", "trainer=cpu"
    )
    assert instantiate(cfg.data).batch_size == 256
    _, model = build_data_and_model(cfg)
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


def test_the_default_run_is_the_pinned_lenet5_recipe() -> None:
    """`experiment=lenet5_mnist` pins the defaults, so the recipe survives a change of them."""
    from lightcnn.config.compose import compose_run

    default = compose_run(run_dir=Path("run"))
    pinned = compose_run(["experiment=lenet5_mnist"], run_dir=Path("run"))
    for node in ("data", "model", "trainer"):
        assert default[node] == pinned[node], node
    assert (default.data.batch_size, default.model.lr, default.trainer.max_epochs) == (
        256,
        0.012,
        6,
    )
    old = compose_run(["experiment=lenet5_mnist_v1"], run_dir=Path("run"))
    assert (old.data.batch_size, old.model.lr, old.trainer.max_epochs) == (128, 0.004, 12)
