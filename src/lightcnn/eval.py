"""Evaluation entry point: ``python -m lightcnn.eval ckpt_path=PATH [split=val]`` or
``lightcnn-eval``.

Rebuilds the model and its data from what the checkpoint carries (``data=...`` and
``data.<key>=...`` may override), runs the test (or validation) split and writes a report folder
(``metrics.json``, ``report.md``, figures) under the checkpoint's run, in a new folder each time.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from lightcnn.config import CONF_DIR
from lightcnn.errors import EXIT_USER_ERROR, LightcnnError, report
from lightcnn.runtime.run_dir import discard_unused_run_dir

log = logging.getLogger("lightcnn")


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate a checkpoint: :func:`lightcnn.runtime.evaluate.evaluate`.

    Args:
        cfg: the composed ``eval`` config.
    """
    from lightcnn.runtime.evaluate import evaluate as run  # Lightning loads here

    return run(cfg)


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
