"""A training run: fit, validate and test the best checkpoint, write the run directory.

Imported lazily by ``lightcnn.train`` so that config errors are reported before Lightning loads.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf, open_dict

from lightcnn.callbacks import EpochLog, EpochSeed, NonFiniteLossGuard, TrainingHistory
from lightcnn.callbacks.history import seconds_since_start
from lightcnn.checkpoint_io import AtomicCheckpointIO
from lightcnn.errors import LightcnnError
from lightcnn.profiling import NullProfiler
from lightcnn.resume import LAST
from lightcnn.validation import validate_config

log = logging.getLogger("lightcnn")
# metrics.json's time_to_val_acc_s: seconds from process start to the first epoch at each level
TIME_TO_ACC_THRESHOLDS = [0.5, 0.9, 0.95, 0.98, 0.99]


def build(node: DictConfig, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate``, letting lightcnn's own errors through unwrapped."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, LightcnnError):
            raise error.__cause__ from None
        raise


def interactive() -> bool:
    """Whether stdout is a terminal (rich progress bar) or a file or pipe (plain lines)."""
    return sys.stdout.isatty()


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


def build_trainer(
    cfg: DictConfig, extra_callbacks: list[L.Callback] | None = None
) -> tuple[L.Trainer, list[Logger]]:
    """The run's Trainer, with lightcnn's own callbacks and checkpoint IO, and its loggers.

    Args:
        cfg: the composed ``train`` config.
        extra_callbacks: more callbacks (the benchmark's epoch timer).
    """
    loggers = build_loggers(cfg.get("logger"))
    callbacks = [
        *build_callbacks(cfg.get("callbacks")),
        EpochSeed(cfg.seed),
        NonFiniteLossGuard(),
        TrainingHistory(),
        *(extra_callbacks or []),
    ]
    # a profiler named in the config wins; otherwise the cheaper no-op one
    profiler = {} if cfg.trainer.get("profiler") else {"profiler": NullProfiler()}
    trainer = build(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        enable_progress_bar=interactive(),
        plugins=[AtomicCheckpointIO()],
        **profiler,
    )
    return trainer, loggers


def hparams_for_logging(cfg: DictConfig) -> dict[str, Any]:
    """The choices worth comparing across runs: model, data loading, seed and epochs."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    return {
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "data": {key: data[key] for key in ("_target_", "batch_size", "image_size") if key in data},
        "seed": cfg.seed,
        "max_epochs": cfg.trainer.get("max_epochs"),
    }


def log_final_hparams(loggers: list[Logger], cfg: DictConfig, metrics: dict[str, Any]) -> None:
    """Write the run's hparams with its final val/test metrics (TensorBoard's HPARAMS tab).

    The metrics go under ``hp/`` so they do not add points to the ``val/`` and ``test/`` curves.
    """
    final = {
        f"hp/{name.replace('/', '_')}": value
        for name, value in metrics.items()
        if isinstance(value, float)
    }
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(hparams_for_logging(cfg), metrics=final)
            logger.finalize("success")


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as JSON atomically: a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


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
    validate_config(cfg)
    resolve_paths(cfg)
    run_dir = Path(cfg.paths.output_dir)
    L.seed_everything(cfg.seed, workers=True)
    datamodule: L.LightningDataModule = build(cfg.data)
    model: L.LightningModule = build(cfg.model, _convert_="all")
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

    # read now: validate/test below restore the best checkpoint's (shorter) history
    history = next(c for c in trainer.callbacks if isinstance(c, TrainingHistory))
    epochs = list(history.epochs)
    time_to_val_acc = history.first_reaching("val/acc", TIME_TO_ACC_THRESHOLDS)

    checkpoint = trainer.checkpoint_callback
    best = checkpoint.best_model_path if checkpoint and checkpoint.best_model_path else None
    metrics: dict[str, Any] = {"seed": cfg.seed, "ckpt_path": best, "run_dir": str(run_dir)}
    if cfg.get("test", True):
        source = "best checkpoint" if best else "final weights"
        log.info("Validating and testing the %s%s", source, f": {best}" if best else "")
        for stage in (trainer.validate, trainer.test):
            results = stage(
                model, datamodule=datamodule, ckpt_path=best, verbose=False, weights_only=True
            )
            for result in results:
                metrics |= {name: float(value) for name, value in result.items()}
        summary = " ".join(
            f"{name}={metrics[name]:.4f}"
            for name in ("val/acc", "test/acc", "test/loss")
            if name in metrics
        )
        log.info("Result (%s): %s", source, summary)
    metrics |= {
        "history": epochs,
        "time_to_val_acc_s": time_to_val_acc,
        "wall_time_s": round(seconds_since_start(), 2),
    }
    write_json(run_dir / "metrics.json", metrics)
    log_final_hparams(loggers, cfg, metrics)
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
