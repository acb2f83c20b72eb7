"""A run's entry in TensorBoard's HPARAMS tab: its meaningful choices as flat hparams, with the
final metrics, so the runs of a multirun directory compare side by side.

The entry is written when the run ends, as a TensorBoard session of its own in the run's
``tensorboard/hparams/`` folder: the session's hparams, then one scalar per final metric. The
session's folder holds nothing else, so TensorBoard lists exactly those metrics as its columns,
and — with no experiment summary written — works out itself which hparams differ between the
runs it shows, and shows those first. The learning curves stay in ``tensorboard/``, untouched.

The session is written with torch's public ``FileWriter`` and summary protos, not
``SummaryWriter.add_hparams`` (nor Lightning's ``log_hyperparams``, which calls the same
summaries): both also write an experiment summary, and TensorBoard then shows that one run's
columns in name order instead of working out which differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger, TensorBoardLogger
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard import FileWriter
from torch.utils.tensorboard.summary import hparams, scalar

from lightcnn.config.validation import model_input
from lightcnn.models import uses_pretrained_weights
from lightcnn.models.custom import configured_target

#: the session's folder inside each TensorBoard log directory
HPARAMS_RUN = "hparams"
#: model options compared across runs (every run gets every key: "none" where it has none)
MODEL_KEYS = (
    "arch",
    "pool",
    "padding",
    "activation",
    "optimizer",
    "lr",
    "weight_decay",
    "scheduler",
    "label_smoothing",
    "pretrained",
    "finetune",
)
#: data options compared across runs: the dataset, batch size and augmentation switches
DATA_KEYS = ("dataset", "batch_size", "random_crop", "horizontal_flip", "brightness", "contrast")


def hparams_for_logging(cfg: DictConfig) -> dict[str, str | int | float]:
    """The run's choices as flat hparams: model and optimizer options, data and augmentation,
    the input side, epochs, seed and tags — the same keys for every run.

    Args:
        cfg: the composed ``train`` config.
    """
    model = OmegaConf.to_container(cfg.model, resolve=True)
    data = OmegaConf.to_container(cfg.data, resolve=True)
    flat: dict[str, Any] = {key: model.get(key) for key in MODEL_KEYS}
    flat["pretrained"] = uses_pretrained_weights(model)
    flat["net"] = configured_target(model)  # a network of one's own: its import path
    flat |= {key: data.get(key) for key in DATA_KEYS}
    flat["image_size"] = model_input(model, data).image_size
    flat["epochs"] = cfg.trainer.get("max_epochs")
    flat["seed"] = cfg.get("seed")
    flat["tags"] = ",".join(map(str, cfg.get("tags") or []))
    return {key: _tensorboard_value(value) for key, value in flat.items()}


def final_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The HPARAMS metrics of a run from its ``metrics.json`` payload: the best validation
    accuracy of any epoch, the test accuracy and loss, and the wall time."""
    history = [e["val/acc"] for e in metrics.get("history", []) if "val/acc" in e]
    values = {
        "val/best_acc": max(history) if history else metrics.get("val/acc"),
        "test/acc": metrics.get("test/acc"),
        "test/loss": metrics.get("test/loss"),
        "wall_time_s": metrics.get("wall_time_s"),
    }
    return {tag: float(value) for tag, value in values.items() if value is not None}


def log_final_hparams(
    loggers: list[Logger], cfg: DictConfig, metrics: Mapping[str, Any], step: int = 0
) -> None:
    """Write the run's HPARAMS session (hparams, then final metrics) next to each TensorBoard
    log, and close the loggers.

    Args:
        loggers: the run's loggers (only TensorBoard ones get the session).
        cfg: the composed ``train`` config.
        metrics: the run's final metrics (``metrics.json``'s payload).
        step: the global step the final metrics are logged at (the run's last).
    """
    flat = hparams_for_logging(cfg)
    finals = final_metrics(metrics)
    _, session_start, session_end = hparams(flat, finals)  # no experiment summary: see above
    for logger in loggers:
        if not isinstance(logger, TensorBoardLogger):
            continue
        writer = FileWriter(Path(logger.log_dir) / HPARAMS_RUN)
        writer.add_summary(session_start)
        for tag, value in finals.items():
            writer.add_summary(scalar(tag, value), step)
        writer.add_summary(session_end)
        writer.close()
        logger.finalize("success")


def _tensorboard_value(value: Any) -> str | int | float:
    """A value HPARAMS shows and filters well: numbers stay numbers, the rest becomes text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    return "none" if value is None else str(value)
