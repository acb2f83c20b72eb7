"""Evaluate a checkpoint on a split and write its report folder; also the report a training run
writes for its own test (``<run>/report/``).

Imported lazily by ``lightcnn.eval`` so that config errors are reported before Lightning loads.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.callbacks import RichProgressBar
from omegaconf import DictConfig, OmegaConf

from lightcnn.analysis.classification import ClassificationMetrics
from lightcnn.analysis.predictions import Predictions
from lightcnn.analysis.report import Report, ReportContext, build_report
from lightcnn.callbacks import RecordPredictions
from lightcnn.config.location import run_dir_of
from lightcnn.data.module import ImageDataModule
from lightcnn.errors import ConfigError, DataError
from lightcnn.lit.classifier import ImageClassifier
from lightcnn.runtime.builders import build, interactive
from lightcnn.runtime.console import configure_console
from lightcnn.runtime.from_checkpoint import Checkpoint
from lightcnn.runtime.run_dir import METRICS, write_json

log = logging.getLogger("lightcnn")
REPORT_DIR = "report"


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Rebuild model and data from ``cfg.ckpt_path``, run ``cfg.split`` and write the report
    into ``cfg.paths.output_dir``.

    Args:
        cfg: the composed ``eval`` config.

    Returns:
        The report's ``metrics.json`` payload.
    """
    configure_console()
    checkpoint = Checkpoint(cfg.ckpt_path)
    overrides = OmegaConf.to_container(cfg.data, resolve=True) if cfg.get("data") else {}
    options = checkpoint.data_options(overrides)
    try:
        datamodule = ImageDataModule(**options, input=checkpoint.requirement().to_dict())
    except ConfigError as error:
        if options["dataset"] == checkpoint.data.get("dataset"):
            raise
        raise ConfigError(
            f"data={options['dataset']}: {checkpoint.path} was trained on "
            f"{checkpoint.data.get('dataset')} and its model cannot take these images ({error})"
        ) from None
    model = checkpoint.model(datamodule.input)
    recorder = RecordPredictions(cfg.split, keep_mistakes=cfg.max_mistakes)
    progress = [RichProgressBar()] if interactive() else []
    trainer: L.Trainer = build(
        cfg.trainer, callbacks=[recorder, *progress], enable_progress_bar=interactive()
    )
    split = "test" if cfg.split == "test" else "validation"
    log.info(
        "Evaluating %s (%s, %s) on the %s %s split",
        checkpoint.path,
        model.hparams.arch,
        f"epoch {checkpoint.epoch}" if checkpoint.epoch else "epoch unknown",
        datamodule.name,
        split,
    )
    run = trainer.test if cfg.split == "test" else trainer.validate
    run(model, datamodule=datamodule, verbose=False)
    context = ReportContext(
        split=cfg.split,
        ckpt_path=str(checkpoint.path),
        model=dict(model.hparams),
        data=options,
        dataset_name=datamodule.name,
        epoch=checkpoint.epoch,
        step=checkpoint.step,
        history=run_history(checkpoint),
        command=hydra_command("lightcnn.eval"),
    )
    report = make_report(recorder.predictions, datamodule.classes, context)
    folder = Path(cfg.paths.output_dir)
    write_report(folder, report)
    log.info("%s", summary_line(report.metrics))
    log.info("Report: %s", folder)
    return report.metrics


def write_run_report(
    run_dir: Path,
    trainer: L.Trainer,
    datamodule: ImageDataModule,
    model: ImageClassifier,
    ckpt_path: str | None,
    history: list[dict[str, Any]],
) -> Path | None:
    """Write a training run's report of its own test pass into ``<run_dir>/report``.

    The predictions are the ones :class:`RecordPredictions` kept during the test; nothing is
    run again. Returns the folder, or None when the run did not test.

    Args:
        run_dir: the run directory.
        trainer: the run's trainer (its callbacks hold the test predictions).
        datamodule: the run's data module.
        model: the tested model.
        ckpt_path: the tested checkpoint (None: the final weights).
        history: the run's per-epoch metrics.
    """
    recorder = next((c for c in trainer.callbacks if isinstance(c, RecordPredictions)), None)
    if recorder is None or recorder.predictions is None or not trainer.is_global_zero:
        return None
    context = ReportContext(
        split="test",
        ckpt_path=ckpt_path or "the final weights (no checkpoint)",
        model=dict(model.hparams),
        data=dict(datamodule.hparams),
        dataset_name=datamodule.name,
        history=history,
        command=hydra_command("lightcnn.train"),
    )
    report = make_report(recorder.predictions, datamodule.classes, context)
    folder = run_dir / REPORT_DIR
    write_report(folder, report)
    log.info("Report: %s", folder)
    return folder


def make_report(
    predictions: Predictions | None, classes: tuple[str, ...], context: ReportContext
) -> Report:
    """The report of a pass (its metrics, markdown and figures)."""
    if predictions is None or len(predictions) == 0:
        raise DataError(f"the {context.split} split gave no batch to evaluate")
    metrics = ClassificationMetrics.from_predictions(predictions, classes)
    return build_report(metrics, predictions.mistakes, context)


def write_report(folder: Path, report: Report) -> None:
    """Write the figures, ``report.md`` and, last, ``metrics.json`` into ``folder``.

    Each file is written to ``<name>.partial`` and renamed: a reader never sees half a file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, figure in report.figures.items():
        partial = folder / f"{name}.partial"
        figure.savefig(partial, format="png", dpi=110)
        os.replace(partial, folder / name)
    partial = folder / "report.md.partial"
    partial.write_text(report.markdown)
    os.replace(partial, folder / "report.md")
    write_json(folder / METRICS, report.metrics)


def run_history(checkpoint: Checkpoint) -> list[dict[str, Any]]:
    """The learning curves of the checkpoint's run: its ``metrics.json`` history when the run
    directory is there (every epoch), else the history the checkpoint carries (up to it)."""
    run_metrics = run_dir_of(checkpoint.path) / METRICS
    if run_metrics.is_file():
        try:
            history = json.loads(run_metrics.read_text()).get("history")
        except (json.JSONDecodeError, AttributeError):
            history = None
        if history:
            return history
    return checkpoint.history


def hydra_command(module: str) -> str:
    """``python -m <module> <the command line's overrides>``, when Hydra runs the job."""
    if not HydraConfig.initialized():
        return ""
    overrides = HydraConfig.get().overrides.task
    return " ".join(["python -m", module, *overrides])


def summary_line(metrics: Mapping[str, Any]) -> str:
    """One line: the split's accuracy, loss, macro F1 and calibration error."""
    return (
        f"{metrics['split']}: accuracy {100 * metrics['accuracy']:.2f}% "
        f"({metrics['correct']:,}/{metrics['count']:,}) · loss {metrics['loss']:.4f} · "
        f"macro F1 {metrics['macro_f1']:.4f} · ECE {metrics['ece']:.4f}"
    )
