"""A training run: fit, validate and test the best checkpoint, write the run directory.

Imported lazily by ``lightcnn.train`` so that config errors are reported before Lightning loads.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, open_dict

from lightcnn.callbacks import TrainingHistory
from lightcnn.callbacks.history import seconds_since_start
from lightcnn.config.validation import validate_config
from lightcnn.runtime.builders import build_data_and_model, build_trainer
from lightcnn.runtime.checkpoint_io import load_weights_only
from lightcnn.runtime.console import configure_console
from lightcnn.runtime.evaluate import write_run_report
from lightcnn.runtime.hparams import log_final_hparams
from lightcnn.runtime.run_dir import LAST, METRICS, write_json

log = logging.getLogger("lightcnn")
# metrics.json's time_to_val_acc_s: seconds from process start to the first epoch at each level
TIME_TO_ACC_THRESHOLDS = [0.5, 0.9, 0.95, 0.98, 0.99]


def resolve_paths(cfg: DictConfig) -> None:
    """Make the path options absolute once, relative to the directory the run started in."""
    with open_dict(cfg):
        for key in ("ckpt_path", "resume"):
            if cfg.get(key):
                cfg[key] = str(Path(cfg[key]).expanduser().resolve())
        if cfg.get("resume") and not cfg.get("ckpt_path"):
            cfg.ckpt_path = str(Path(cfg.resume) / LAST)


def fit_and_test(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit, then validate and test the best checkpoint.

    Args:
        cfg: the composed ``train`` config.

    Returns:
        The final metrics (also written to ``metrics.json``) and the objects of the run
        (datamodule, model, trainer).
    """
    configure_console()
    validate_config(cfg)
    resolve_paths(cfg)
    run_dir = Path(cfg.paths.output_dir)
    L.seed_everything(cfg.seed, workers=True)
    datamodule, model = build_data_and_model(cfg)
    trainer, loggers = build_trainer(cfg)

    if cfg.get("ckpt_path"):
        log.info("Resuming from %s", cfg.ckpt_path)
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"), weights_only=True)
    except SystemExit as stop:
        # Lightning turns Ctrl-C and SIGTERM into SystemExit after the current batch.
        if not trainer.interrupted:
            raise
        explain_interruption(trainer, run_dir)
        sys.exit(143 if isinstance(stop, SIGTERMException) else 130)

    # the history of every epoch, resumed ones included (checkpoints carry it)
    history = next(c for c in trainer.callbacks if isinstance(c, TrainingHistory))
    epochs = list(history.epochs)
    time_to_val_acc = history.first_reaching("val/acc", TIME_TO_ACC_THRESHOLDS)

    checkpoint = trainer.checkpoint_callback
    best = checkpoint.best_model_path if checkpoint and checkpoint.best_model_path else None
    metrics: dict[str, Any] = {"seed": cfg.seed, "ckpt_path": best, "run_dir": str(run_dir)}
    if cfg.get("test", True):
        source = "best checkpoint" if best else "final weights"
        log.info("Validating and testing the %s%s", source, f": {best}" if best else "")
        if best:  # loaded once here, not by each of validate and test
            model.load_state_dict(load_weights_only(best)["state_dict"])
        for stage in (trainer.validate, trainer.test):
            results = stage(model, datamodule=datamodule, verbose=False)
            for result in results:
                metrics |= {name: float(value) for name, value in result.items()}
        summary = " ".join(
            f"{name}={metrics[name]:.4f}"
            for name in ("val/acc", "test/acc", "test/loss")
            if name in metrics
        )
        log.info("Result (%s): %s", source, summary)
        write_run_report(run_dir, trainer, datamodule, model, best, epochs)
    metrics |= {
        "history": epochs,
        "time_to_val_acc_s": time_to_val_acc,
        "wall_time_s": round(seconds_since_start(), 2),
    }
    write_json(run_dir / METRICS, metrics)
    log_final_hparams(loggers, cfg, metrics, step=trainer.global_step)
    log.info("Run directory: %s", run_dir)
    return metrics, {"datamodule": datamodule, "model": model, "trainer": trainer}


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
