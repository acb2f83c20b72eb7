"""Scale-out configs and their pieces, without launching: trainer presets, the SLURM preset,
the Optuna search space, unique folder names, GPU claims, the collective NaN decision."""

from __future__ import annotations

import fcntl
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.plugins import Plugins
from hydra.core.utils import setup_globals
from hydra.types import HydraContext, RunMode
from omegaconf import OmegaConf
from submitit.slurm.slurm import _make_sbatch_string

from lightcnn.callbacks import NonFiniteLossGuard, SameConfigOnEveryRank
from lightcnn.callbacks.same_config import options_digest
from lightcnn.config import CONF_DIR
from lightcnn.config.validation import validate_config
from lightcnn.core.errors import ConfigError, NonFiniteLossError
from lightcnn.launch import parallel
from lightcnn.launch.build import build_data_and_model
from lightcnn.launch.hydra_callbacks import check_launcher


@pytest.mark.parametrize(
    ("preset", "accelerator", "devices", "strategy"),
    [
        ("cpu", "cpu", 1, None),
        ("gpu", "gpu", 1, None),
        ("ddp", "gpu", -1, "ddp"),
        ("ddp_spawn", "gpu", -1, "ddp_spawn"),
        ("ddp_sim", "cpu", 2, "ddp"),
    ],
)
def test_trainer_presets(make_cfg, preset: str, accelerator: str, devices: int, strategy) -> None:
    trainer = make_cfg(f"trainer={preset}").trainer  # (make_cfg puts every test on the CPU)
    assert (trainer.devices, trainer.get("strategy"), trainer.num_nodes) == (devices, strategy, 1)
    assert OmegaConf.load(CONF_DIR / "trainer" / f"{preset}.yaml").accelerator == accelerator


def test_the_slurm_preset_asks_for_one_task_per_device_on_each_node(make_cfg) -> None:
    cfg = make_cfg(
        "hydra/launcher=slurm",
        "trainer=ddp",
        "trainer.devices=4",
        "trainer.num_nodes=2",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.timeout_min=240",
    )
    setup_globals()  # Hydra's resolvers, as in a real launch
    plugin = Plugins.instance().instantiate_launcher(
        config=cfg,
        hydra_context=HydraContext(config_loader=None, callbacks=None),
        task_function=lambda _: None,
    )
    assert type(plugin).__name__ == "SlurmLauncher"
    launcher = plugin.params  # resolved against the train config when Hydra instantiates it
    assert (launcher["nodes"], launcher["tasks_per_node"], launcher["gpus_per_node"]) == (2, 4, 4)
    assert launcher["max_num_timeout"] == 0  # no requeue: resume=<run dir> instead
    check_launcher(cfg)
    # the sbatch script submitit writes from these settings
    script = _make_sbatch_string(
        command="python -m lightcnn.train",
        folder="/tmp/submitit",
        partition=launcher["partition"],
        time=launcher["timeout_min"],
        nodes=launcher["nodes"],
        ntasks_per_node=launcher["tasks_per_node"],
        gpus_per_node=launcher["gpus_per_node"],
        cpus_per_task=launcher["cpus_per_task"],
    )
    for line in (
        "#SBATCH --nodes=2",
        "#SBATCH --ntasks-per-node=4",
        "#SBATCH --gpus-per-node=4",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=240",
    ):
        assert line in script


def test_the_slurm_preset_needs_a_device_count(make_cfg) -> None:
    cfg = make_cfg("hydra/launcher=slurm", "trainer=ddp")  # devices: -1, every GPU
    with pytest.raises(ConfigError, match=r"trainer.devices=-1 is not allowed with hydra/launch"):
        check_launcher(cfg)
    check_launcher(make_cfg("hydra/launcher=submitit_local", "trainer=ddp"))  # not SLURM


def test_the_optuna_search_samples_real_keys_of_the_train_config(make_cfg) -> None:
    cfg = make_cfg("hparams_search=lenet5_mnist_optuna")
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and cfg.hydra.mode == RunMode.MULTIRUN
    assert sweeper.direction == "maximize" and cfg.optimized_metric == "val/acc"
    assert sweeper.sampler._target_.endswith("TPESampler") and sweeper.sampler.seed == 1234
    assert set(sweeper.params) == {
        "model.lr",
        "model.weight_decay",
        "data.batch_size",
        "model.pool",
        "model.label_smoothing",
    }
    for key in sweeper.params:  # each names an existing option (optim presets merge into model)
        assert OmegaConf.select(cfg, key, default="missing") != "missing", key


def test_optimized_metric_must_be_a_reported_metric(make_cfg) -> None:
    with pytest.raises(ConfigError, match="optimized_metric='val/accuracy' is not allowed"):
        validate_config(make_cfg("optimized_metric=val/accuracy"))
    with pytest.raises(ConfigError, match="optimized_metric=test/acc needs the test"):
        validate_config(make_cfg("optimized_metric=test/acc", "test=false"))


def test_folders_started_in_the_same_second_differ(tmp_path: Path) -> None:
    """The default run and sweep folders end in a random suffix, fixed within one config."""
    names = []
    for _ in range(2):
        GlobalHydra.instance().clear()
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose("train", [f"paths.log_dir={tmp_path}"], return_hydra_config=True)
        for key in ("run.dir", "sweep.dir"):
            folder = OmegaConf.select(cfg.hydra, key)
            assert OmegaConf.select(cfg.hydra, key) == folder  # cached: one value per config
            names.append(Path(folder).name)
    GlobalHydra.instance().clear()
    suffixes = [name.rsplit("_", 1)[1] for name in names]
    assert all(len(suffix) == 6 for suffix in suffixes)
    assert suffixes[0] != suffixes[2] and suffixes[1] != suffixes[3]  # two configs differ


def test_parallel_jobs_claim_distinct_gpus(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "_claimed", None)
    held = (tmp_path / "gpu0.lock").open("w")  # another job holds GPU 0
    fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert parallel.claim_gpu(2, tmp_path) == 1
    assert parallel.claim_gpu(2, tmp_path) == 1  # kept for the life of this worker
    monkeypatch.setattr(parallel, "_claimed", None)
    assert parallel.claim_gpu(1, tmp_path) is None  # every GPU taken
    held.close()


class _Strategy:
    """Two ranks; the other one saw a NaN."""

    def reduce_boolean_decision(self, decision: bool, all: bool = True) -> bool:
        return decision and False


def test_a_nan_on_another_rank_stops_this_one_too() -> None:
    guard = NonFiniteLossGuard()
    trainer = SimpleNamespace(
        world_size=2,
        strategy=_Strategy(),
        global_step=5,
        current_epoch=0,
        optimizers=[],
        checkpoint_callbacks=[],
        log_every_n_steps=50,
    )
    module = SimpleNamespace(device=torch.device("cpu"), hparams={"lr": 0.1})
    guard.on_train_start(trainer, module)
    with pytest.raises(NonFiniteLossError, match="non-finite on another rank"):
        guard.on_train_batch_end(trainer, module, torch.tensor(2.3), None, 0)


class _Ranks:
    """Rank 1 of two, whose options differ from rank 0's."""

    def broadcast(self, obj: str, src: int = 0) -> str:
        return "rank 0's digest"

    def reduce_boolean_decision(self, decision: bool, all: bool = True) -> bool:
        return decision


def test_ranks_with_different_options_stop_before_training(make_cfg) -> None:
    datamodule, model = build_data_and_model(make_cfg())
    trainer = SimpleNamespace(world_size=2, strategy=_Ranks(), datamodule=datamodule)
    with pytest.raises(ConfigError, match="ranks were started with different configurations"):
        SameConfigOnEveryRank().setup(trainer, model, "fit")
    _, other = build_data_and_model(make_cfg("model.lr=0.5"))
    assert options_digest(model, datamodule) != options_digest(other, datamodule)
    _, same = build_data_and_model(make_cfg())
    assert options_digest(model, datamodule) == options_digest(same, datamodule)
