"""Train entry point: ``python -m lightcnn.train [overrides]`` or ``lightcnn-train``.

Fits the configured model, validates and tests its best checkpoint, and writes the run
directory: ``.hydra/`` (composed config), ``checkpoints/``, ``tensorboard/``, ``metrics.json``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig

from lightcnn.config import CONF_DIR
from lightcnn.errors import LightcnnError
from lightcnn.run import (
    build_callbacks,
    build_loggers,
    instantiate_target,
    interactive,
    log_final_hparams,
    write_json,
)

log = logging.getLogger("lightcnn")


def train(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit, then validate and test the best checkpoint.

    Args:
        cfg: the composed ``train`` config.

    Returns:
        The final metrics (also written to ``metrics.json``) and the objects of the run
        (datamodule, model, trainer).
    """
    run_dir = Path(cfg.paths.output_dir)
    L.seed_everything(cfg.seed, workers=True)
    datamodule: L.LightningDataModule = instantiate_target(cfg.data)
    model: L.LightningModule = instantiate_target(cfg.model, _convert_="all")
    loggers = build_loggers(cfg.get("logger"))
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=build_callbacks(cfg.get("callbacks")),
        logger=loggers or False,
        enable_progress_bar=interactive(),
    )

    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))

    checkpoint = trainer.checkpoint_callback
    best = checkpoint.best_model_path if checkpoint and checkpoint.best_model_path else None
    metrics: dict[str, Any] = {"seed": cfg.seed, "ckpt_path": best, "run_dir": str(run_dir)}
    if cfg.get("test", True):
        source = "best checkpoint" if best else "final weights"
        log.info("Validating and testing the %s%s", source, f": {best}" if best else "")
        for stage in (trainer.validate, trainer.test):
            for results in stage(model, datamodule=datamodule, ckpt_path=best, verbose=False):
                metrics |= {name: float(value) for name, value in results.items()}
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


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the optimized metric for sweepers."""
    try:
        metrics, _ = train(cfg)
    except LightcnnError as error:
        log.error("%s", error)
        sys.exit(2)
    return metrics.get(cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
