"""Rebuild a model, and the data it was trained on, from what its checkpoint carries: no
training config is needed.

A lightcnn checkpoint holds, as primitives (so it loads with ``weights_only=True``): the
model's hyperparameters with its resolved input (``hyper_parameters``, see
:class:`~lightcnn.models.InputSpec`) and the data module's options
(``datamodule_hyper_parameters``: dataset, data folder, batch size, validation split, seed).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightcnn.data import DATASETS, DatasetSource
from lightcnn.errors import CheckpointError, ConfigError
from lightcnn.lit.classifier import ImageClassifier
from lightcnn.models import InputSpec, input_requirement, uses_pretrained_weights
from lightcnn.runtime.checkpoints import load_weights_only


class Checkpoint:
    """A lightcnn checkpoint file, read once with ``weights_only=True``.

    Args:
        path: the ``.ckpt`` file.
    """

    def __init__(self, path: str | Path) -> None:
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

    def dataset(self, override: str | None = None) -> type[DatasetSource]:
        """The dataset the model was trained on (its facts: side, channels, classes).

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
        return DATASETS[name]

    def model(self, spec: InputSpec) -> ImageClassifier:
        """The model with the checkpoint's weights, in eval mode, built for ``spec``.

        Pretrained backbones are built without reading their original weights (the checkpoint
        replaces them), and ``compile`` is off: nothing here trains.

        Args:
            spec: the resolved input (the checkpoint's own, resolved against its dataset).
        """
        options = {**self.hparams, "input": spec.to_dict(), "compile": False}
        if uses_pretrained_weights(options):
            options |= {"pretrained": False, "weights_path": None, "finetune": "full"}
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
