"""The checks of a composed train config, run once per config before anything is written.

:func:`check_train_config` is the whole of it: the CLI's Hydra callback runs it for a single
run before Hydra creates the run directory, and ``lightcnn.train.train`` for a sweep's job or a
config composed from Python. Each check raises :class:`ConfigError` with one line naming the
key, the value and what is allowed. The rules are not restated here: each layer owns the rules
of its options and this module calls them — the data options (:mod:`lightcnn.data.options`),
the module's options and its optimizer and scheduler (:mod:`lightcnn.lit.options`), the input
contract (:mod:`lightcnn.models.input_spec`), and the architecture options, checked by building
the backbone on the ``meta`` device. Only the run-level keys (seed, epochs, ...) are checked
here, and the runs that start from a checkpoint:

- A continuation (``resume=<run dir>``, ``ckpt_path=<file>``) restores the checkpoint's
  optimizer, schedule and loop state, so it only continues the same recipe: the model's and
  the data's hyperparameters must equal the checkpoint's, except how the run executes (speed
  switches, loader workers, the pipeline, where the data is) and its length
  (``trainer.max_epochs``: the schedule is re-planned, see ``lit/horizon.py``).
- A warm start (``init_from=<file>``) takes the checkpoint's weights only, into a new run with
  its own optimizer, schedule, epochs and data: the configured network must have the same
  shapes.

Nothing imported here loads Lightning, so a typo is reported in seconds.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from lightcnn.core.errors import (
    BOOLEAN,
    CheckpointError,
    ConfigError,
    LightcnnError,
    Rule,
    check_rules,
    is_int,
)
from lightcnn.data import DatasetSource, open_source
from lightcnn.data.options import check_data_options
from lightcnn.lit.options import check_module_options
from lightcnn.models import MODELS, InputSpec, build_model, input_requirement
from lightcnn.models import uses_pretrained_weights as pretrained
from lightcnn.models.custom import configured_target, trusting
from lightcnn.rundir.checkpoints import checkpoint_hparams, load_weights_only
from lightcnn.rundir.layout import LAST, REPORTED_METRICS

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


def check_train_config(cfg: DictConfig) -> None:
    """Every check of a composed train config: its values, then the checkpoint it starts from.

    Args:
        cfg: the composed config (the ``hydra`` node is not needed).
    """
    validate_config(cfg)
    check_continuation(cfg)


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
    source = open_source(data)
    source.check()  # an image folder is listed and read now: a bad file stops here
    if metric and metric.startswith("test/") and not source.has_test:
        raise ConfigError(
            f"optimized_metric={metric}, but {source.name} has no test split "
            f"({source.data_dir} has no test/ folder); optimize val/acc or val/loss"
        )
    if "model" in cfg and "arch" in cfg.model:
        model = _plain(cfg.model)
        check_custom_network(model)
        check_module_options(model, pretrained=pretrained(model))
        meta_network(model, data, source)


def check_custom_network(model: dict[str, Any]) -> None:
    """Refuse what a network of one's own (``model=custom``) cannot have: pretrained weights
    and the fine-tuning policies that need them.

    Args:
        model: the ``model`` config, resolved.
    """
    if model.get("arch") != "custom":
        return
    keys = [k for k in ("pretrained", "weights_path") if model.get(k)]
    keys += ["finetune"] if model.get("finetune", "full") != "full" else []
    if keys:
        raise ConfigError(
            f"model.{keys[0]}={model[keys[0]]!r}: model=custom trains "
            "your network from its own initialisation, and fine-tuning policies need a "
            "pretrained backbone; load weights of your own with init_from=<checkpoint>"
        )


def _selected(node: DictConfig, keys: dict[str, Rule]) -> dict[str, Any]:
    missing = object()
    values = {key: OmegaConf.select(node, key, default=missing) for key in keys}
    return {key: value for key, value in values.items() if value is not missing}


def _plain(node: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]


def model_input(
    model: dict[str, Any], data: dict[str, Any], source: DatasetSource | None = None
) -> InputSpec:
    """The input the configured model gets from the configured dataset (resolved spec).

    Args:
        model: the ``model`` config, resolved.
        data: the ``data`` config, resolved.
        source: the dataset, when already opened.
    """
    return input_requirement(model).resolve(source or open_source(data))


def model_arguments(
    model: dict[str, Any], data: dict[str, Any], source: DatasetSource | None = None
) -> dict[str, Any]:
    """What the data gives the configured model: its resolved ``input`` and ``num_classes``
    (``model.num_classes``, or the dataset's class count when it is null).

    Args:
        model: the ``model`` config, resolved.
        data: the ``data`` config, resolved.
        source: the dataset, when already opened.
    """
    source = source or open_source(data)
    return {
        "input": model_input(model, data, source).to_dict(),
        "num_classes": model.get("num_classes") or len(source.classes),
    }


def meta_network(
    model: dict[str, Any], data: dict[str, Any], source: DatasetSource | None = None
) -> nn.Module:
    """The configured backbone, built for its input on the meta device: no memory, no weights
    read, its options checked by the builder that owns them.

    Args:
        model: the ``model`` config, resolved.
        data: the ``data`` config, resolved.
        source: the dataset, when already opened.
    """
    arch = model["arch"]
    if arch not in MODELS:
        raise ConfigError(f"model.arch={arch!r} is unknown; allowed: {', '.join(MODELS)}")
    given = model_arguments(model, data, source)
    spec = InputSpec.from_dict(given["input"])
    accepted = set(inspect.signature(MODELS[arch]).parameters) - {"pretrained", "weights_path"}
    options = {key: value for key, value in model.items() if key in accepted}
    options |= {"in_channels": spec.in_channels, "image_size": spec.image_size}
    options["num_classes"] = given["num_classes"]
    try:
        # the config names its network: the user's choice (models/custom.py)
        with trusting(configured_target(model)), torch.device("meta"):
            return build_model(arch, **options)
    except LightcnnError as error:
        raise ConfigError(f"model={arch}: {error}") from None


# how a run executes, not what it trains: free to change when it continues
EXECUTION_MODEL = {"_target_", "_recursive_", "channels_last", "compile"}
EXECUTION_DATA = {"_target_", "data_dir", "num_workers", "pin_memory", "persistent_workers"}
EXECUTION_DATA |= {"pipeline", "download", "root", "cache_dir"}


def check_continuation(cfg: DictConfig) -> None:
    """Refuse a continuation with another recipe, and a warm start whose weights do not fit.

    Args:
        cfg: the composed config.
    """
    if cfg.get("resume"):
        run_dir = Path(str(cfg.resume)).expanduser().resolve()
        check_same_recipe(cfg, f"resume={run_dir}", run_dir / LAST)
    elif cfg.get("ckpt_path"):
        check_same_recipe(cfg, f"ckpt_path={cfg.ckpt_path}", Path(str(cfg.ckpt_path)))
    if cfg.get("init_from"):
        check_weights_fit(cfg, Path(str(cfg.init_from)))


def recipe_changes(cfg: DictConfig, path: Path) -> list[str]:
    """``key: saved → configured`` for each recipe value the config changes.

    Args:
        cfg: the composed config.
        path: the checkpoint it continues.
    """
    saved_model, saved_data = checkpoint_hparams(Path(path).expanduser())
    model, data = _plain(cfg.model), _plain(cfg.data)
    source = open_source(data)
    model |= model_arguments(model, data, source)  # as the model saved them: resolved
    data["num_classes"] = data.get("num_classes") or len(source.classes)
    changes = []
    for prefix, configured, saved, free in (
        ("model", model, saved_model, EXECUTION_MODEL),
        ("data", data, saved_data, EXECUTION_DATA),
    ):
        for key in sorted(set(configured) & set(saved) - free):
            if configured[key] != saved[key]:
                changes.append(f"{prefix}.{key}: {saved[key]!r} → {configured[key]!r}")
    return changes


def check_same_recipe(cfg: DictConfig, origin: str, path: Path) -> None:
    """Raise :class:`ConfigError` naming what changed when a continuation changes the recipe.

    Args:
        cfg: the composed config.
        origin: ``resume=<dir>`` or ``ckpt_path=<file>``, for the message.
        path: the checkpoint continued from.
    """
    changes = recipe_changes(cfg, path)
    if not changes:
        return
    more = f" (and {len(changes) - 1} more)" if len(changes) > 1 else ""
    raise ConfigError(
        f"{origin} continues a checkpoint trained with another recipe: {changes[0]}{more}. "
        "A continuation keeps the checkpoint's optimizer and schedule state, so only "
        "trainer.max_epochs and how it runs may change; to train its weights with a new "
        f"recipe, start a new run with init_from={Path(path).expanduser().resolve()}"
    )


def check_weights_fit(cfg: DictConfig, path: Path) -> None:
    """Raise :class:`CheckpointError` when the checkpoint's weights do not fit the configured
    network (checked on the meta device: nothing is built or read in full).

    Args:
        cfg: the composed config.
        path: the ``init_from`` checkpoint.
    """
    saved_model, _ = checkpoint_hparams(path)
    state = load_weights_only(path, mmap=True)["state_dict"]
    net = meta_network(_plain(cfg.model), _plain(cfg.data))
    expected = {f"net.{key}": tuple(value.shape) for key, value in net.state_dict().items()}
    given = {key: tuple(value.shape) for key, value in state.items() if key.startswith("net.")}
    problems = [f"{key} missing" for key in sorted(expected.keys() - given.keys())]
    problems += [f"{key} unexpected" for key in sorted(given.keys() - expected.keys())]
    problems += [
        f"{key} is {given[key]} there, {expected[key]} here"
        for key in sorted(expected.keys() & given.keys())
        if given[key] != expected[key]
    ]
    if problems:
        spec = saved_model.get("input") or {}
        trained = (
            f"arch={saved_model.get('arch')}, input {spec.get('image_size')}×"
            f"{spec.get('image_size')}×{spec.get('in_channels')}, "
            f"{saved_model.get('num_classes')} classes"
        )
        raise CheckpointError(
            f"init_from={path}: its weights do not fit this model ({'; '.join(problems[:3])}"
            f"{' …' if len(problems) > 3 else ''}); it was trained as {trained}, and a warm "
            "start needs the same architecture, input size, channels and classes"
        )
