"""Train entry point: ``python -m lightcnn.train [overrides]`` or ``lightcnn-train``.

Fits the configured model, validates and tests its best checkpoint, and writes the run
directory: ``.hydra/`` (composed config), ``checkpoints/``, ``tensorboard/``, ``metrics.json``.
Ctrl-C or SIGTERM stops at the next batch and says how to resume (``resume=<run dir>``).
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from lightcnn.config import CONF_DIR
from lightcnn.errors import LightcnnError
from lightcnn.hydra_callbacks import report
from lightcnn.resume import expand_resume

log = logging.getLogger("lightcnn")


def train(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit, then validate and test the best checkpoint.

    Args:
        cfg: the composed ``train`` config.

    Returns:
        The final metrics (also written to ``metrics.json``) and the objects of the run
        (datamodule, model, trainer).
    """
    from lightcnn.run import fit_and_test  # Lightning loads here, after the config checks

    return fit_and_test(cfg)


def discard_unused_run_dir(run_dir: Path) -> None:
    """Remove a run directory that a failed start left with nothing but its config and log."""
    if not run_dir.is_dir() or (run_dir / "metrics.json").exists():
        return
    allowed = {".hydra", "train.log", "tensorboard", "csv", "checkpoints"}
    if any(entry.name not in allowed for entry in run_dir.iterdir()):
        return
    if any((run_dir / "checkpoints").glob("*")):
        return
    shutil.rmtree(run_dir)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    try:
        metrics, _ = train(cfg)
    except LightcnnError as error:
        log.error("%s", error)
        report(error)
        discard_unused_run_dir(Path(cfg.paths.output_dir))
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
