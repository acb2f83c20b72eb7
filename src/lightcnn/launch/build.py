"""Builders shared by the entry points: data, model, callbacks, loggers and the Trainer (with
its checkpoint plugin), from a composed config.

:func:`build_data_and_model` wires the input contract for a run from a config: the model config
states what its architecture needs (``model.input``), the data module resolves it against its
dataset, and the model is built for exactly what the data delivers (eval and predict do the same
from a checkpoint: ``rundir/checkpoints.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor, RichProgressBar
from lightning.pytorch.loggers import Logger
from lightning.pytorch.plugins.io import TorchCheckpointIO
from omegaconf import DictConfig, OmegaConf

from lightcnn.callbacks import (
    EpochLog,
    EpochSeed,
    NonFiniteLossGuard,
    OptunaPruning,
    SameConfigOnEveryRank,
    TrainingHistory,
)
from lightcnn.core.errors import CheckpointError, LightcnnError
from lightcnn.core.io import atomic_path
from lightcnn.core.nvml_check import drop_nvml_check_without_nvml
from lightcnn.data.module import ImageDataModule
from lightcnn.launch.console import interactive, job_logging_config
from lightcnn.launch.distributed import global_rank
from lightcnn.launch.spawned_console import SpawnedConsole
from lightcnn.lit.classifier import ImageClassifier
from lightcnn.models import input_requirement
from lightcnn.models.custom import configured_target, trusting
from lightcnn.rundir.checkpoints import load_weights_only
from lightcnn.sweeps.study import load_job_trial


def build(node: DictConfig, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate``, letting lightcnn's own errors through unwrapped."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, LightcnnError):
            raise error.__cause__ from None
        raise


def build_data_and_model(cfg: DictConfig) -> tuple[ImageDataModule, ImageClassifier]:
    """The data module and the model, joined by the input contract.

    ``model.input`` (plus what pretrained weights need) → the data module resolves it against
    its dataset → the model is built for the resolved spec, which its checkpoint then carries.

    Args:
        cfg: the composed config (``data`` and ``model`` nodes).
    """
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    requirement = input_requirement(model_cfg)
    datamodule: ImageDataModule = build(cfg.data, input=requirement.to_dict(), _convert_="all")
    given = {"input": datamodule.input.to_dict()}
    if model_cfg.get("num_classes") is None:  # the dataset's: an image folder's class folders
        given["num_classes"] = len(datamodule.classes)
    with trusting(configured_target(model_cfg)):  # the config names it: the user's choice
        model: ImageClassifier = build(cfg.model, **given, _convert_="all")
    return datamodule, model


def build_callbacks(cfg: DictConfig | None) -> list[L.Callback]:
    """Instantiate every callback of the ``callbacks`` group, plus the progress display.

    Args:
        cfg: the ``callbacks`` config: a mapping of name → ``_target_`` config.
    """
    callbacks = [build(node) for node in (cfg or {}).values() if node and "_target_" in node]
    callbacks.append(RichProgressBar() if interactive() else EpochLog())
    return callbacks


def build_loggers(cfg: DictConfig | None) -> list[Logger]:
    """Instantiate every logger of the ``logger`` group.

    Args:
        cfg: the ``logger`` config: a mapping of name → ``_target_`` config.
    """
    return [build(node) for node in (cfg or {}).values() if node and "_target_" in node]


def build_trial_callbacks(cfg: DictConfig) -> list[L.Callback]:
    """:class:`OptunaPruning` when this job runs a trial of an Optuna search (the sweeper set
    ``hydra.sweeper.trial``), reporting the sweep's ``optimized_metric``; else nothing.

    Args:
        cfg: the composed ``train`` config.
    """
    if not HydraConfig.initialized():
        return []
    hydra = HydraConfig.get()
    if OmegaConf.select(hydra, "sweeper.trial", default=None) is None:
        return []
    trial = None
    if global_rank() == 0:  # one reporter; the other DDP ranks follow its decision
        pruner = build(hydra.sweeper.pruner)
        trial = load_job_trial(hydra.sweeper, Path(hydra.sweep.dir), pruner)
    return [OptunaPruning(trial, str(cfg.get("optimized_metric") or "val/acc"))]


def build_trainer(
    cfg: DictConfig, extra_callbacks: list[L.Callback] | None = None, attempt: int = 0
) -> tuple[L.Trainer, list[Logger]]:
    """The run's Trainer, with lightcnn's own callbacks and checkpoint IO, and its loggers.

    Args:
        cfg: the composed ``train`` config.
        extra_callbacks: more callbacks (the benchmark's epoch timer).
        attempt: the run directory's attempt this trainer runs (``rundir/record.py``).
    """
    drop_nvml_check_without_nvml()  # ~170 µs less per optimizer step without NVML (its module)
    loggers = build_loggers(cfg.get("logger"))
    configured = build_callbacks(cfg.get("callbacks"))
    if not loggers:  # `~logger`: nothing to log the learning rate to (Lightning would refuse)
        configured = [c for c in configured if not isinstance(c, LearningRateMonitor)]
    callbacks = [
        *configured,
        EpochSeed(cfg.seed),
        NonFiniteLossGuard(),
        TrainingHistory(attempt),
        *build_trial_callbacks(cfg),
        *(extra_callbacks or []),
    ]
    trainer = build(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        enable_progress_bar=interactive(),
        plugins=[AtomicCheckpointIO()],
    )
    # Lightning calls every callback at every hook, about ten times a step: the ones that only
    # matter with several processes join only then (a LeNet-5 step is ~2 ms of a CPU core)
    if trainer.world_size > 1:
        trainer.callbacks += [SameConfigOnEveryRank(), SpawnedConsole(job_logging_config())]
    return trainer, loggers


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint plugin, writing atomically (``lightcnn.core.io.atomic_path``: a kill
    during a save never leaves a torn file) and reading with ``weights_only=True`` whatever the
    caller asks. Every save and load Lightning does (best and last checkpoints, resume) goes
    through it."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        try:
            with atomic_path(path) as partial:
                super().save_checkpoint(checkpoint, partial, storage_options)
        except OSError as error:  # a full disk, a folder removed or made read-only mid-run
            raise CheckpointError(
                f"could not write the checkpoint {path} ({error.strerror or error}); "
                "the checkpoints written before it are kept"
            ) from error

    def load_checkpoint(
        self, path: str | Path, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return load_weights_only(path, map_location=map_location or "cpu")
