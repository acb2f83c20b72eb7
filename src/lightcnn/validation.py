"""Config validation, run right after composition and before any file is read or written.

Each check raises :class:`ConfigError` with one line naming the key, the value and what is
allowed. Architecture options (pool, padding, activation, input sizes) are checked by building
the backbone on the ``meta`` device: the builders own their rules, so they are stated once.
Data-set specific options are checked when the data module is built, before any file is read.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from lightcnn.errors import ConfigError, LightcnnError
from lightcnn.models import MODELS, build_model, check_input
from lightcnn.optim import OPTIMIZERS, SCHEDULERS


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


BOOLEAN: tuple[Callable[[Any], bool], str] = (lambda v: isinstance(v, bool), "true or false")


# Lightning's profilers by name (a Profiler instance is never a config value)
PROFILERS = ("simple", "advanced", "pytorch")


RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seed": (_is_int, "an integer"),
    "data.batch_size": (lambda v: _is_int(v) and v > 0, "a positive integer"),
    "data.num_workers": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "data.val_size": (
        lambda v: (_is_int(v) and v > 0) or (isinstance(v, float) and 0 < v < 1),
        "a number of images > 0 or a fraction in (0, 1)",
    ),
    "data.num_classes": (lambda v: _is_int(v) and v >= 2, "an integer >= 2"),
    "model.num_classes": (lambda v: _is_int(v) and v >= 2, "an integer >= 2"),
    "model.lr": (lambda v: _is_number(v) and v > 0, "a number > 0"),
    "model.weight_decay": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "model.momentum": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "model.label_smoothing": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "model.optimizer": (lambda v: v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    "model.scheduler": (lambda v: v in SCHEDULERS, f"one of {', '.join(SCHEDULERS)}"),
    "trainer.max_epochs": (lambda v: _is_int(v) and (v >= 1 or v == -1), "an integer >= 1 (or -1)"),
    "trainer.profiler": (lambda v: v is None or v in PROFILERS, f"one of {', '.join(PROFILERS)}"),
    "data.crop_padding": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "data.brightness": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "data.contrast": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    **dict.fromkeys(
        (
            "test",
            "data.random_crop",
            "data.horizontal_flip",
            "model.nesterov",
            "model.channels_last",
            "model.compile",
        ),
        BOOLEAN,
    ),
}


def validate_config(cfg: DictConfig) -> None:
    """Check the composed train config; raise :class:`ConfigError` on the first problem.

    Args:
        cfg: the composed config (the ``hydra`` node is not needed).
    """
    for key, (ok, allowed) in RULES.items():
        value = _value(cfg, key)
        if value is not _MISSING and not ok(value):
            raise ConfigError(f"{key}={value!r} is not allowed: it must be {allowed}")
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path and not Path(str(ckpt_path)).expanduser().is_file():
        raise ConfigError(f"ckpt_path={ckpt_path}: no such file")
    _check_model_builds(cfg)


_MISSING = object()


def _value(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.select(cfg, key, default=_MISSING, throw_on_missing=False)


def _check_model_builds(cfg: DictConfig) -> None:
    """Build the backbone on the meta device: no memory, no weights read, its options checked.

    Only lightcnn.models is imported (not Lightning), so a typo is reported in seconds.
    """
    if "model" not in cfg or "arch" not in cfg.model:
        return
    options = OmegaConf.to_container(cfg.model, resolve=True)
    arch = options["arch"]
    if arch not in MODELS:
        raise ConfigError(f"model.arch={arch!r} is unknown; allowed: {', '.join(MODELS)}")
    accepted = set(inspect.signature(MODELS[arch]).parameters) - {"pretrained", "weights_path"}
    try:
        check_input(
            arch,
            image_size=options.get("image_size"),
            in_channels=options.get("in_channels"),
            input_size=options.get("input_size"),
            input_channels=options.get("input_channels"),
        )
        with torch.device("meta"):
            build_model(arch, **{key: value for key, value in options.items() if key in accepted})
    except LightcnnError as error:
        raise ConfigError(f"model={arch}: {error}") from None


def check_run_dir(run_dir: Path, resuming: bool) -> None:
    """Refuse to write a new run into a directory that holds a finished one.

    Args:
        run_dir: the run directory Hydra is about to use.
        resuming: whether this run continues the one in ``run_dir``.
    """
    if not resuming and (run_dir / "metrics.json").is_file():
        raise ConfigError(
            f"{run_dir} already holds a finished run (metrics.json); choose another "
            f"hydra.run.dir, or continue it with resume={run_dir}"
        )
