"""Evaluation entry point: ``python -m lightcnn.eval ckpt_path=PATH [split=val]`` or
``lightcnn-eval``.

Rebuilds the model and its data from what the checkpoint carries (``data=...`` and
``data.<key>=...`` may override), runs the test (or validation) split and writes a report folder
(``metrics.json``, ``report.md``, figures) under the checkpoint's run, in a new folder each time.
"""

from __future__ import annotations

from lightcnn.core import collector, teardown

collector.pause_if_main(__name__)  # no garbage collections while the libraries load
teardown.skip_if_main(__name__)  # once done, exit without tearing the libraries down

import json
import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from lightcnn.config import CONF_DIR
from lightcnn.config.location import run_dir_of
from lightcnn.core.errors import EXIT_USER_ERROR, ConfigError, DataError, LightcnnError, report
from lightcnn.evaluation.report import ReportContext, make_report, summary_line, write_report
from lightcnn.launch.console import configure_console, interactive
from lightcnn.launch.job import hydra_command
from lightcnn.models import network_name
from lightcnn.rundir.checkpoints import Checkpoint
from lightcnn.rundir.guards import discard_unused_run_dir
from lightcnn.rundir.layout import METRICS

log = logging.getLogger("lightcnn")


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Rebuild model and data from ``cfg.ckpt_path``, run ``cfg.split`` and write the report
    into ``cfg.paths.output_dir``.

    Args:
        cfg: the composed ``eval`` config.

    Returns:
        The report's ``metrics.json`` payload.
    """
    # Lightning loads here, once the options are checked (launch/hydra_callbacks.py)
    from lightning.pytorch.callbacks import RichProgressBar

    from lightcnn.callbacks import RecordPredictions
    from lightcnn.data.module import ImageDataModule
    from lightcnn.launch.build import build

    collector.resume()  # everything is imported (lightcnn/core/collector.py)
    configure_console()
    checkpoint = Checkpoint(cfg.ckpt_path, trust=cfg.get("net_target"))
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
    if cfg.split == "test" and not datamodule.has_test:
        raise DataError(
            f"{datamodule.name} has no test split ({datamodule.data_dir} has no test/ folder): "
            "evaluate its validation split, split=val"
        )
    model = checkpoint.model(datamodule.input)
    recorder = RecordPredictions(cfg.split, keep_mistakes=cfg.max_mistakes)
    progress = [RichProgressBar()] if interactive() else []
    trainer = build(cfg.trainer, callbacks=[recorder, *progress], enable_progress_bar=interactive())
    split = "test" if cfg.split == "test" else "validation"
    log.info(
        "Evaluating %s (%s, %s) on the %s %s split",
        checkpoint.path,
        network_name(model.hparams),
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


def run_history(checkpoint: Checkpoint) -> list[dict[str, Any]]:
    """The learning curves of the checkpoint's run: its ``metrics.json`` history when the run
    directory is there (every epoch), else the history the checkpoint carries (up to it).

    Args:
        checkpoint: the evaluated checkpoint.
    """
    run_metrics = run_dir_of(checkpoint.path) / METRICS
    if run_metrics.is_file():
        try:
            history = json.loads(run_metrics.read_text()).get("history")
        except (json.JSONDecodeError, AttributeError):
            history = None
        if history:
            return history
    return checkpoint.history


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="eval")
def main(cfg: DictConfig) -> float:
    try:
        metrics = evaluate(cfg)
    except LightcnnError as error:
        log.debug("%s", error)  # into eval.log; the console gets the one line below
        report(error)
        discard_unused_run_dir(Path(cfg.paths.output_dir))
        sys.exit(EXIT_USER_ERROR)
    return metrics["accuracy"]


if __name__ == "__main__":
    main()
    teardown.finished()
