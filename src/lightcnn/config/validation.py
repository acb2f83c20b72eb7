"""Config validation, run right after composition and before any file is read or written.

Each check raises :class:`ConfigError` with one line naming the key, the value and what is
allowed. The rules are not restated here: each layer owns the rules of its options and this
module calls them — the data options (:mod:`lightcnn.data.options`), the module's options and
its optimizer and scheduler (:mod:`lightcnn.lit.options`), the input contract
(:mod:`lightcnn.models.input_spec`), and the architecture options, checked by building the
backbone on the ``meta`` device. Only the run-level keys (seed, epochs, ...) are checked here.

Nothing imported here loads Lightning, so a typo is reported in seconds.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from lightcnn.data import DATASETS
from lightcnn.data.options import check_data_options
from lightcnn.errors import BOOLEAN, ConfigError, LightcnnError, Rule, check_rules, is_int
from lightcnn.lit.options import REPORTED_METRICS, check_module_options
from lightcnn.models import MODELS, InputSpec, build_model, input_requirement
from lightcnn.models import uses_pretrained_weights as pretrained

# Lightning's profilers by name (a Profiler instance is never a config value)
PROFILERS = ("simple", "advanced", "pytorch")

RUN_RULES: dict[str, Rule] = {
    "seed": (is_int, "an integer"),
    "test": BOOLEAN,
    "optimized_metric": (
        lambda v: v is None or v in REPORTED_METRICS,
        f"one of {', '.join(REPORTED_METRICS)} (or null)",
    ),
}
TRAINER_RULES: dict[str, Rule] = {
    "max_epochs": (lambda v: is_int(v) and (v >= 1 or v == -1), "an integer >= 1 (or -1)"),
    "profiler": (lambda v: v is None or v in PROFILERS, f"one of {', '.join(PROFILERS)}"),
}


def validate_config(cfg: DictConfig) -> None:
    """Check the composed train config; raise :class:`ConfigError` on the first problem.

    Args:
        cfg: the composed config (the ``hydra`` node is not needed).
    """
    if "optim" in cfg:
        raise ConfigError(
            "+optim=... adds a node nothing reads: an optimizer preset merges into the model "
            "node, select it with optim@model=<preset> (adam, adamw, sgd)"
        )
    check_rules("", _selected(cfg, RUN_RULES), RUN_RULES)
    metric = cfg.get("optimized_metric")
    if metric and metric.startswith("test/") and cfg.get("test") is False:
        raise ConfigError(f"optimized_metric={metric} needs the test: set test=true")
    if "trainer" in cfg:  # only the keys checked: others may point into Hydra's runtime
        check_rules("trainer", _selected(cfg.trainer, TRAINER_RULES), TRAINER_RULES)
    for key in ("ckpt_path", "init_from"):
        path = cfg.get(key)
        if path and not Path(str(path)).expanduser().is_file():
            raise ConfigError(f"{key}={path}: no such file")
    if cfg.get("init_from") and (cfg.get("ckpt_path") or cfg.get("resume")):
        continued = "resume" if cfg.get("resume") else "ckpt_path"
        raise ConfigError(
            f"init_from and {continued} are both set: {continued} continues a run with its "
            "optimizer and schedule state, init_from starts a new run from weights only; "
            "choose one"
        )
    data = _plain(cfg.data) if "data" in cfg else {}
    check_data_options(data)
    if "model" in cfg and "arch" in cfg.model:
        model = _plain(cfg.model)
        check_module_options(model, pretrained=pretrained(model))
        meta_network(model, data)


def _selected(node: DictConfig, keys: dict[str, Rule]) -> dict[str, Any]:
    missing = object()
    values = {key: OmegaConf.select(node, key, default=missing) for key in keys}
    return {key: value for key, value in values.items() if value is not missing}


def _plain(node: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]


def model_input(model: dict[str, Any], data: dict[str, Any]) -> InputSpec:
    """The input the configured model gets from the configured dataset (resolved spec).

    Args:
        model: the ``model`` config, resolved.
        data: the ``data`` config, resolved.
    """
    source = DATASETS[data.get("dataset", "mnist")]
    return input_requirement(model).resolve(
        image_size=source.image_size,
        in_channels=source.channels,
        mean=source.mean,
        std=source.std,
        source=source.name,
    )


def meta_network(model: dict[str, Any], data: dict[str, Any]) -> nn.Module:
    """The configured backbone, built for its input on the meta device: no memory, no weights
    read, its options checked by the builder that owns them.

    Args:
        model: the ``model`` config, resolved.
        data: the ``data`` config, resolved.
    """
    arch = model["arch"]
    if arch not in MODELS:
        raise ConfigError(f"model.arch={arch!r} is unknown; allowed: {', '.join(MODELS)}")
    spec = model_input(model, data)
    accepted = set(inspect.signature(MODELS[arch]).parameters) - {"pretrained", "weights_path"}
    options = {key: value for key, value in model.items() if key in accepted}
    options |= {"in_channels": spec.in_channels, "image_size": spec.image_size}
    try:
        with torch.device("meta"):
            return build_model(arch, **options)
    except LightcnnError as error:
        raise ConfigError(f"model={arch}: {error}") from None
