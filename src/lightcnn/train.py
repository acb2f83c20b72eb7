"""Train entry point: ``python -m lightcnn.train [overrides]`` or ``lightcnn-train``.

Fits the configured model, validates and tests its best checkpoint, and writes the run
directory: ``.hydra/`` (composed config), ``checkpoints/``, ``tensorboard/``, ``metrics.json``.
Ctrl-C or SIGTERM stops at the next batch and says how to resume (``resume=<run dir>``).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, open_dict

from lightcnn.callbacks import EpochSeed, NonFiniteLossGuard
from lightcnn.checkpoint_io import AtomicCheckpointIO
from lightcnn.config import CONF_DIR
from lightcnn.errors import LightcnnError
from lightcnn.hydra_callbacks import report
from lightcnn.resume import LAST, expand_resume
from lightcnn.run import build_callbacks, build_loggers, interactive, log_final_hparams, write_json
from lightcnn.validation import validate_config

log = logging.getLogger("lightcnn")


def resolve_paths(cfg: DictConfig) -> None:
    """Make the path options absolute once, relative to the directory the run started in."""
    with open_dict(cfg):
        for key in ("ckpt_path", "resume"):
            if cfg.get(key):
                cfg[key] = str(Path(cfg[key]).expanduser().resolve())
        if cfg.get("resume") and not cfg.get("ckpt_path"):
            cfg.ckpt_path = str(Path(cfg.resume) / LAST)


def train(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
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
    datamodule: L.LightningDataModule = instantiate(cfg.data)
    model: L.LightningModule = instantiate(cfg.model, _convert_="all")
    loggers = build_loggers(cfg.get("logger"))
    callbacks = [*build_callbacks(cfg.get("callbacks")), EpochSeed(cfg.seed), NonFiniteLossGuard()]
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        enable_progress_bar=interactive(),
        plugins=[AtomicCheckpointIO()],
    )

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


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    try:
        metrics, _ = train(cfg)
    except LightcnnError as error:
        log.error("%s", error)
        report(error)
        sys.exit(2)
    return metrics.get(cfg.get("optimized_metric"))


def main() -> float | None:
    """Console entry point: expand ``resume=<run dir>``, then run Hydra."""
    try:
        sys.argv = expand_resume(sys.argv)
    except LightcnnError as error:
        report(error)
        sys.exit(2)
    return _hydra_main()


if __name__ == "__main__":
    main()
