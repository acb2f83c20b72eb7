"""Checks of the ``eval`` and ``predict`` configs, run before Hydra creates the job's folder.

Both read a checkpoint; the checkpoint itself is read (with ``weights_only=True``) by the job.
No Lightning here: a typo is reported in seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from lightcnn.core.errors import ConfigError, Rule, check_rules, is_int
from lightcnn.data import DATASETS
from lightcnn.data.options import check_data_options

SPLITS = ("test", "val")
NET_TARGET: Rule = (lambda v: v is None or isinstance(v, str), "null or an import path")
EVAL_RULES: dict[str, Rule] = {
    "net_target": NET_TARGET,
    "split": (lambda v: v in SPLITS, f"one of {', '.join(SPLITS)}"),
    "max_mistakes": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
}
PREDICT_RULES: dict[str, Rule] = {
    "net_target": NET_TARGET,
    "topk": (lambda v: is_int(v) and v >= 1, "an integer >= 1"),
    "batch_size": (lambda v: is_int(v) and v >= 1, "a positive integer"),
    "num_workers": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    "max_rows": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    "dataset": (lambda v: v is None or v in DATASETS, f"null or one of {', '.join(DATASETS)}"),
    "invert": (lambda v: v in ("auto", True, False), "auto, true or false"),
}
EXAMPLES = {
    "eval": "python -m lightcnn.eval ckpt_path=<run>/checkpoints/<name>.ckpt",
    "predict": "python -m lightcnn.predict ckpt_path=<file.ckpt> inputs=<file, folder or glob>",
}


def validate_checkpoint_job(cfg: DictConfig, command: str) -> None:
    """Check an ``eval`` or ``predict`` config; raise :class:`ConfigError` on the first problem.

    Args:
        cfg: the composed config.
        command: ``eval`` or ``predict``.
    """
    required = ["ckpt_path"] + (["inputs"] if command == "predict" else [])
    for key in required:
        if OmegaConf.is_missing(cfg, key) or cfg.get(key) in (None, ""):
            raise ConfigError(f"{key} is required: {EXAMPLES[command]}")
    ckpt_path = Path(str(cfg.ckpt_path)).expanduser()
    if not ckpt_path.is_file():
        raise ConfigError(f"ckpt_path={cfg.ckpt_path}: no such file")
    rules = EVAL_RULES if command == "eval" else PREDICT_RULES
    check_rules("", {key: cfg.get(key) for key in rules if key in cfg}, rules)
    if command == "eval" and cfg.get("data"):
        data: dict[str, Any] = OmegaConf.to_container(cfg.data, resolve=True)
        check_data_options({key: value for key, value in data.items() if value is not None})
