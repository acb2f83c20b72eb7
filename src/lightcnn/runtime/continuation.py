"""Runs that start from a checkpoint, checked before anything is written.

- A continuation (``resume=<run dir>``, ``ckpt_path=<file>``) restores the checkpoint's
  optimizer, schedule and loop state, so it only continues the same recipe: the model's and
  the data's hyperparameters must equal the checkpoint's, except how the run executes (speed
  switches, loader workers, the pipeline, where the data is) and its length
  (``trainer.max_epochs``: the schedule is re-planned, see ``lit/horizon.py``).
- A warm start (``init_from=<file>``) takes the checkpoint's weights only, into a new run with
  its own optimizer, schedule, epochs and data: the configured network must have the same
  shapes.

No Lightning here: the Hydra callback runs these checks in seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from lightcnn.config.validation import meta_network, model_input
from lightcnn.errors import CheckpointError, ConfigError
from lightcnn.runtime.checkpoints import checkpoint_hparams, load_weights_only
from lightcnn.runtime.run_dir import LAST

# how a run executes, not what it trains: free to change when it continues
EXECUTION_MODEL = {"_target_", "channels_last", "compile"}
EXECUTION_DATA = {"_target_", "data_dir", "num_workers", "pin_memory", "persistent_workers"}
EXECUTION_DATA |= {"pipeline", "download"}


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


def _plain(node: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]


def recipe_changes(cfg: DictConfig, path: Path) -> list[str]:
    """``key: saved → configured`` for each recipe value the config changes.

    Args:
        cfg: the composed config.
        path: the checkpoint it continues.
    """
    saved_model, saved_data = checkpoint_hparams(Path(path).expanduser())
    model, data = _plain(cfg.model), _plain(cfg.data)
    model["input"] = model_input(model, data).to_dict()
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


def load_network_weights(net: torch.nn.Module, path: str | Path) -> dict[str, Any]:
    """Copy the network weights of a lightcnn checkpoint into ``net`` (a warm start).

    Args:
        net: the model's network (``ImageClassifier.net``).
        path: the ``init_from`` checkpoint.

    Returns:
        The checkpoint's model hyperparameters (what it was trained with).
    """
    payload = load_weights_only(path)
    state = {key[4:]: value for key, value in payload["state_dict"].items() if key[:4] == "net."}
    net.load_state_dict(state)
    return dict(payload.get("hyper_parameters") or {})
