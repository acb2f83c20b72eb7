"""Reading a checkpoint: ``torch.load(..., weights_only=True)`` only, one clear error for every
way it can fail, and the model and data rebuilt from what it carries.

A lightcnn checkpoint holds, as primitives (so it loads with ``weights_only=True``): the
model's hyperparameters with its resolved input (``hyper_parameters``, see
:class:`~lightcnn.models.InputSpec`) and the data module's options
(``datamodule_hyper_parameters``: dataset, data folder, batch size, validation split, seed), so
eval and predict need no training config. Checkpoints are written by Lightning through
``launch/build.py:AtomicCheckpointIO``. No Lightning at import: the checks before a run read
checkpoints too.
"""

from __future__ import annotations

import logging
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from lightcnn.core.errors import CheckpointError, ConfigError
from lightcnn.data import DATASETS, DatasetSource, open_source
from lightcnn.models import InputSpec, input_requirement, uses_pretrained_weights
from lightcnn.models.custom import configured_target, resolve_network, trusting

if TYPE_CHECKING:
    from lightcnn.lit.classifier import ImageClassifier

log = logging.getLogger("lightcnn")


def load_weights_only(path: str | Path, map_location: Any = "cpu", mmap: bool = False) -> Any:
    """``torch.load(path, weights_only=True)`` with one clear error for every way it can fail.

    A file carrying pickled code (any object beyond tensors, primitives and containers) is
    refused and never executed.

    Args:
        path: the checkpoint or state-dict file.
        map_location: where to put the tensors.
        mmap: memory-map the tensors instead of reading them (for reading metadata).
    """
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as error:
        found = re.search(r"GLOBAL ([\w.]+)", str(error))
        if found:
            raise CheckpointError(
                f"refusing to load {path}: it holds {found.group(1)}, which is not a tensor or "
                f"primitive, and lightcnn loads checkpoints with weights_only=True only"
            ) from error
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint (truncated, corrupt or another format)"
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint (truncated or corrupt?): {error}"
        ) from error


def checkpoint_hparams(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's and the data module's hyperparameters saved in a Lightning checkpoint.

    The tensors are memory-mapped, not read, so this is cheap for a large checkpoint.

    Args:
        path: a checkpoint written by ``python -m lightcnn.train``.
    """
    payload = load_weights_only(path, mmap=True)
    if not isinstance(payload, dict) or "state_dict" not in payload:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (no state_dict)")
    return (
        dict(payload.get("hyper_parameters") or {}),
        dict(payload.get("datamodule_hyper_parameters") or {}),
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


class Checkpoint:
    """A lightcnn checkpoint file, read once with ``weights_only=True``.

    A checkpoint of a network of one's own (``model=custom``) names its import path: it is
    imported (and said so) and checked at once, and refused unless it names an ``nn.Module``
    subclass or the path the user gave as ``trust`` (``models/custom.py``). Nothing it names
    is called before that.

    Args:
        path: the ``.ckpt`` file.
        trust: an import path the user named on the command line (``net_target=``), allowed
            although it is not an ``nn.Module`` subclass.
    """

    def __init__(self, path: str | Path, trust: str | None = None) -> None:
        self.path = Path(path).expanduser().resolve()
        payload = load_weights_only(self.path)
        hparams = payload.get("hyper_parameters") if isinstance(payload, dict) else None
        if not isinstance(hparams, dict) or "arch" not in hparams or "state_dict" not in payload:
            raise CheckpointError(
                f"{self.path} is not a lightcnn checkpoint: it has no model hyperparameters "
                "(hyper_parameters with an arch) and state_dict, which every checkpoint written "
                "by lightcnn.train has"
            )
        self.payload: dict[str, Any] = payload
        self.hparams: dict[str, Any] = hparams
        self.data: dict[str, Any] = dict(payload.get("datamodule_hyper_parameters") or {})
        self.network_target = configured_target(hparams)
        self.trust = trust if trust == self.network_target else None
        if hparams.get("arch") == "custom":
            self._check_network()

    def _check_network(self) -> None:
        """Import the network a ``model=custom`` checkpoint names, refusing anything that is not
        an ``nn.Module`` subclass (or the user's own ``trust``) before it is called."""
        net = self.hparams.get("net")
        target = self.network_target or "nothing"
        log.info(
            "%s holds a network of its own, %s: importing %s",
            self.path.name,
            target,
            target.rpartition(".")[0] or target,
        )
        try:
            with trusting(self.trust):
                resolve_network(net)
        except ConfigError as error:
            raise CheckpointError(f"{self.path}: {error}") from None

    @property
    def epoch(self) -> int | None:
        """The epoch it was saved after (1-based), when recorded."""
        epoch = self.payload.get("epoch")
        return epoch + 1 if isinstance(epoch, int) else None

    @property
    def step(self) -> int | None:
        """The global step it was saved at, when recorded."""
        return self.payload.get("global_step")

    @property
    def history(self) -> list[dict[str, Any]]:
        """The per-epoch metrics up to this checkpoint (its ``TrainingHistory`` state)."""
        state = (self.payload.get("callbacks") or {}).get("TrainingHistory") or {}
        return list(state.get("epochs") or [])

    def requirement(self) -> InputSpec:
        """What the model takes (resolved in every checkpoint lightcnn writes)."""
        return input_requirement(self.hparams)

    def data_options(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The data module's options: the checkpoint's, with ``overrides`` (not None) on top.

        Args:
            overrides: ``data.*`` values given on the command line (None: the checkpoint's).
        """
        options = {**self.data, **{k: v for k, v in overrides.items() if v is not None}}
        options.pop("_target_", None)
        if not options.get("dataset"):
            raise ConfigError(
                f"{self.path} does not record the data it was trained on; name it: "
                f"data=<{'|'.join(DATASETS)}> (and data.data_dir=<folder>)"
            )
        return options

    def dataset(self, override: str | None = None) -> DatasetSource:
        """The dataset the model was trained on (its facts: side, channels, classes), as the
        checkpoint records it: an image folder's facts need no folder.

        Args:
            override: a dataset name given on the command line instead.
        """
        name = override or self.data.get("dataset")
        if name not in DATASETS:
            raise ConfigError(
                f"{self.path} does not record the data it was trained on; name it: "
                f"dataset=<{'|'.join(DATASETS)}>"
                if not name
                else f"dataset={name!r} is unknown; allowed: {', '.join(DATASETS)}"
            )
        if override and override != self.data.get("dataset"):
            return open_source({"dataset": name, "data_dir": self.data.get("data_dir")})
        return open_source({**self.data, "num_classes": None})

    def model(self, spec: InputSpec) -> ImageClassifier:
        """The model with the checkpoint's weights, in eval mode, built for ``spec``.

        Pretrained backbones are built without reading their original weights (the checkpoint
        replaces them), and ``compile`` is off: nothing here trains.

        Args:
            spec: the resolved input (the checkpoint's own, resolved against its dataset).
        """
        from lightcnn.lit.classifier import ImageClassifier  # Lightning loads here, not before

        options = {**self.hparams, "input": spec.to_dict(), "compile": False}
        if uses_pretrained_weights(options):
            options |= {"pretrained": False, "weights_path": None, "finetune": "full"}
        with trusting(self.trust):  # the network was checked when the checkpoint was read
            model = ImageClassifier(**options)
        try:
            model.load_state_dict(self.payload["state_dict"])
        except RuntimeError as error:
            first = str(error).strip().splitlines()
            raise CheckpointError(
                f"{self.path}: its weights do not fit the model its hyperparameters describe "
                f"({first[1].strip() if len(first) > 1 else first[0]})"
            ) from error
        return model.eval()
