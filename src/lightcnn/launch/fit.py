"""A training run: fit, validate and test the best checkpoint, write the run directory.

A trial of an Optuna search that its pruner stopped (``callbacks/optuna_pruning.py``) is not
tested: its ``metrics.json`` says ``pruned``, with the epoch it reached and the value reported.

Imported lazily by ``lightcnn.train`` so that config errors are reported before Lightning loads;
the config was checked before (``config/validation.py:check_train_config``), so nothing here
checks it again.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, open_dict

from lightcnn.callbacks import (
    ClassificationFigures,
    OptunaPruning,
    RecordPredictions,
    TrainingHistory,
)
from lightcnn.core.clock import seconds_since_start
from lightcnn.core.io import write_json
from lightcnn.data.module import ImageDataModule
from lightcnn.evaluation.report import ReportContext, make_report, write_report
from lightcnn.launch.build import build_data_and_model, build_trainer
from lightcnn.launch.console import configure_console
from lightcnn.launch.distributed import global_rank
from lightcnn.launch.hparams import log_final_hparams
from lightcnn.launch.job import hydra_command
from lightcnn.launch.tracking import log_choices, log_record
from lightcnn.lit.classifier import ImageClassifier
from lightcnn.rundir.checkpoints import load_network_weights, load_weights_only
from lightcnn.rundir.guards import remove_partials
from lightcnn.rundir.layout import (
    ATTEMPT,
    COMPLETED,
    FAILED,
    INTERRUPTED,
    LAST,
    METRICS,
    PRUNED,
    REPORT_DIR,
    job_number,
)
from lightcnn.rundir.record import (
    Attempt,
    attempt_of,
    read_attempts,
    record_dir,
    record_killed_attempts,
)

log = logging.getLogger("lightcnn")
# metrics.json's time_to_val_acc_s: seconds from process start to the first epoch at each level
TIME_TO_ACC_THRESHOLDS = [0.5, 0.9, 0.95, 0.98, 0.99]


def resolve_paths(cfg: DictConfig) -> None:
    """Make the path options absolute once, relative to the directory the run started in."""
    with open_dict(cfg):
        for key in ("ckpt_path", "resume", "init_from"):
            if cfg.get(key):
                cfg[key] = str(Path(cfg[key]).expanduser().resolve())
        if cfg.get("resume") and not cfg.get("ckpt_path"):
            cfg.ckpt_path = str(Path(cfg.resume) / LAST)


def fit_and_test(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit, then validate and test the best checkpoint.

    The attempt is recorded in the run directory (``rundir/record.py``): its start, the
    epochs it trained and how it ended — completed, interrupted or failed.

    Args:
        cfg: the composed ``train`` config.

    Returns:
        The final metrics (also written to ``metrics.json``) and the objects of the run
        (datamodule, model, trainer).
    """
    configure_console()
    resolve_paths(cfg)
    run_dir = Path(cfg.paths.output_dir)
    L.seed_everything(cfg.seed, workers=True)
    datamodule, model = build_data_and_model(cfg)
    if validation_only_note(datamodule) and cfg.get("test", True):
        log.info("%s", validation_only_note(datamodule))  # said once; metrics.json and report too
    if cfg.get("init_from"):
        trained = load_network_weights(model.net, cfg.init_from)
        log.info(
            "Warm start: the weights of %s (trained as %s), with this run's own optimizer, "
            "schedule, epochs and data",
            cfg.init_from,
            trained.get("arch"),
        )
    attempt = start_attempt(cfg, run_dir)
    trainer, loggers = build_trainer(
        cfg, extra_callbacks=[RecordTrainingStart(attempt)], attempt=attempt.number
    )
    log_choices(loggers, cfg)
    history = next(c for c in trainer.callbacks if isinstance(c, TrainingHistory))
    pruning = next((c for c in trainer.callbacks if isinstance(c, OptunaPruning)), None)
    pruned = None
    try:
        fit(cfg, trainer, model, datamodule, run_dir, attempt, history)
        if not history.epochs and (run_dir / LAST).is_file():  # ddp_spawn: kept in the workers
            state = load_weights_only(run_dir / LAST)["callbacks"][history.state_key]
            history.load_state_dict(state)
        pruned = pruning.pruned if pruning is not None else None
        if pruned is None:
            metrics = test_best(cfg, trainer, model, datamodule, run_dir, history)
        else:
            metrics = {"seed": cfg.seed, "ckpt_path": None, "run_dir": str(run_dir)}
            log.info(
                "Pruned after epoch %d (%s=%s): hopeless next to the study's earlier trials",
                pruned["epoch"],
                pruned["metric"],
                f"{pruned['value']:.4f}" if pruned["value"] is not None else "?",
            )
    except BaseException as error:
        if not isinstance(error, SystemExit):  # interruptions are recorded by fit()
            attempt.finish(FAILED, history.ran, error=str(error) or type(error).__name__)
        raise
    outcome = COMPLETED if pruned is None else PRUNED
    attempt.finish(outcome, history.ran or history.epochs_of(attempt.number))
    metrics |= {
        "status": outcome,
        **({PRUNED: pruned} if pruned is not None else {}),
        "dataset": datamodule.hparams.get("facts"),  # what the data looked like
        # the history of every epoch, resumed ones included (checkpoints carry it)
        "history": list(history.epochs),
        "time_to_val_acc_s": history.first_reaching("val/acc", TIME_TO_ACC_THRESHOLDS),
        "attempts": read_attempts(run_dir),
        "wall_time_s": round(seconds_since_start(), 2),
    }
    if cfg.get("init_from"):
        metrics["init_from"] = cfg.init_from
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        metrics["job"] = job_number(run_dir.name)  # the sweep's key (the folder adds values)
    if trainer.is_global_zero:  # one record per run, also under DDP
        write_json(run_dir / METRICS, metrics)
    log_final_hparams(loggers, cfg, metrics, step=trainer.global_step)
    log_record(loggers, metrics, run_dir)
    log.info("Run directory: %s", run_dir)
    return metrics, {"datamodule": datamodule, "model": model, "trainer": trainer}


def start_attempt(cfg: DictConfig, run_dir: Path) -> Attempt:
    """Record this attempt (the run itself, or a continuation of it) as running, after what
    killed processes left: their ``.partial`` files removed, their attempts recorded as killed.

    The run directory's lock is held (``launch/hydra_callbacks.py``): nobody else writes it.
    """
    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    output_subdir = hydra.output_subdir if hydra else None
    if global_rank() == 0:
        clear_what_killed_processes_left(run_dir, attempt_of(output_subdir))
    return Attempt(
        run_dir,
        output_subdir=output_subdir,
        overrides=list(hydra.overrides.task) if hydra else [],
        continued_from=cfg.get("ckpt_path"),
        init_from=cfg.get("init_from"),
        writes=global_rank() == 0,  # one record, also under DDP
    )


def clear_what_killed_processes_left(run_dir: Path, attempt: int) -> None:
    """Remove the ``.partial`` files of killed writes; record attempts that died unrecorded.

    Args:
        run_dir: the run directory.
        attempt: the number of the attempt starting now.
    """
    removed = remove_partials(run_dir)
    if removed:
        names = ", ".join(str(path.relative_to(run_dir)) for path in removed)
        log.info("Removed what a killed write left unfinished: %s", names)
    if attempt == 0:
        return
    for killed in record_killed_attempts(run_dir, by_attempt=attempt):
        epochs = killed["epochs"]
        trained = ", ".join(str(epoch) for epoch in epochs)
        proven = f"epoch{'s' if len(epochs) > 1 else ''} {trained}" if epochs else "no epoch"
        log.warning(
            "Attempt %s ended without a record (killed, out of memory or power loss): recorded "
            "in %s as killed; its checkpoints prove %s",
            killed["attempt"],
            record_dir(killed["attempt"]) / ATTEMPT,
            proven,
        )


class RecordTrainingStart(L.Callback):
    """Record in the attempt that training started: from then on a failure keeps the run
    directory, with its log, TensorBoard events and failure record (``launch/job.py``).

    Args:
        attempt: this process's attempt.
    """

    def __init__(self, attempt: Attempt) -> None:
        self.attempt = attempt

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:  # rank 0 writes the record (the spawned one: ddp_spawn)
            self.attempt.training_starts()


def fit(
    cfg: DictConfig,
    trainer: L.Trainer,
    model: L.LightningModule,
    datamodule: L.LightningDataModule,
    run_dir: Path,
    attempt: Attempt,
    history: TrainingHistory,
) -> None:
    """``trainer.fit``, from the checkpoint a continuation names; Ctrl-C and SIGTERM stop after
    the current batch, are recorded, and say how to continue."""
    if cfg.get("ckpt_path"):
        log.info("Resuming from %s", cfg.ckpt_path)
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"), weights_only=True)
    except SystemExit as stop:
        # Lightning turns Ctrl-C and SIGTERM into SystemExit after the current batch.
        if not trainer.interrupted:
            raise
        attempt.finish(INTERRUPTED, history.ran)
        explain_interruption(trainer, run_dir)
        sys.exit(143 if isinstance(stop, SIGTERMException) else 130)


def test_best(
    cfg: DictConfig,
    trainer: L.Trainer,
    model: L.LightningModule,
    datamodule: L.LightningDataModule,
    run_dir: Path,
    history: TrainingHistory,
) -> dict[str, Any]:
    """Validate and test the best checkpoint (the final weights without one), and write the
    run's report of that test (``report/``)."""
    checkpoint = trainer.checkpoint_callback
    best = checkpoint.best_model_path if checkpoint and checkpoint.best_model_path else None
    metrics: dict[str, Any] = {"seed": cfg.seed, "ckpt_path": best, "run_dir": str(run_dir)}
    if not cfg.get("test", True):
        return metrics
    source = "best checkpoint" if best else "final weights"
    note = validation_only_note(datamodule)
    if note:
        metrics["note"] = note
        log.info("Validating the %s%s", source, f": {best}" if best else "")
    else:
        log.info("Validating and testing the %s%s", source, f": {best}" if best else "")
    if best:  # loaded once here, not by each of validate and test
        model.load_state_dict(load_weights_only(best)["state_dict"])
    split = "val" if note else "test"
    trainer.callbacks.append(RecordPredictions(split))  # the predictions, for report/
    stages = (trainer.validate,) if note else (trainer.validate, trainer.test)
    for stage in stages:
        for result in stage(model, datamodule=datamodule, verbose=False):
            metrics |= {name: float(value) for name, value in result.items()}
    summary = " ".join(
        f"{name}={metrics[name]:.4f}"
        for name in ("val/acc", "test/acc", "test/loss")
        if name in metrics
    )
    log.info("Result (%s): %s", source, summary)
    write_run_report(run_dir, trainer, datamodule, model, best, history.epochs, note)
    return metrics


def validation_only_note(datamodule: ImageDataModule) -> str:
    """What a run of a dataset without a test split says (once, and in metrics.json and the
    report): it reports validation only. Empty for a dataset with a test split."""
    if datamodule.has_test:
        return ""
    return (
        f"{datamodule.data_dir} has no test/ folder, so this run reports validation only "
        "(val/acc, val/loss)"
    )


def explain_interruption(trainer: L.Trainer, run_dir: Path) -> None:
    """Say where the run stopped and how to continue it."""
    last = run_dir / LAST
    where = f"during epoch {trainer.current_epoch + 1} (step {trainer.global_step})"
    if last.is_file():
        log.warning(
            "Interrupted %s. The last complete epoch is saved in %s. Resume with:\n"
            "  python -m lightcnn.train resume=%s",
            where,
            last,
            run_dir,
        )
    else:
        log.warning("Interrupted %s, before any epoch finished: nothing to resume.", where)


def write_run_report(
    run_dir: Path,
    trainer: L.Trainer,
    datamodule: ImageDataModule,
    model: ImageClassifier,
    ckpt_path: str | None,
    history: list[dict[str, Any]],
    note: str = "",
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
        note: the validation-only note (the report is then the validation split's).
    """
    recorder = next((c for c in trainer.callbacks if isinstance(c, RecordPredictions)), None)
    if recorder is None or recorder.predictions is None or not trainer.is_global_zero:
        return None
    context = ReportContext(
        split="val" if note else "test",
        ckpt_path=ckpt_path or "the final weights (no checkpoint)",
        model=dict(model.hparams),
        data=dict(datamodule.hparams),
        dataset_name=datamodule.name,
        history=history,
        command=hydra_command("lightcnn.train"),
        note=note,
    )
    report = make_report(recorder.predictions, datamodule.classes, context)
    folder = run_dir / REPORT_DIR
    images = write_report(folder, report)
    figures = next((c for c in trainer.callbacks if isinstance(c, ClassificationFigures)), None)
    if figures is not None and not note:  # the test's figures, drawn once for both
        figures.log_report_images(trainer, images)
    log.info("Report: %s", folder)
    return folder
