"""Checkpoint files: written atomically, read with ``weights_only=True`` only.

``AtomicCheckpointIO`` is handed to the Trainer, so every save and every load Lightning does
(best/last checkpoints, resume, test on the best checkpoint) goes through it.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lightcnn.errors import CheckpointError


def load_weights_only(path: str | Path, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with one clear error for every way it can fail.

    A file carrying pickled code (any object beyond tensors, primitives and containers) is
    refused and never executed.

    Args:
        path: the checkpoint or state-dict file.
        map_location: where to put the tensors.
    """
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
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


class AtomicCheckpointIO(TorchCheckpointIO):
    """Save to ``<name>.partial`` and rename, so a kill during a save never leaves a corrupt file;
    load with ``weights_only=True`` whatever the caller asks."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        super().save_checkpoint(checkpoint, partial, storage_options)
        os.replace(partial, path)

    def load_checkpoint(
        self, path: str | Path, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return load_weights_only(path, map_location=map_location or "cpu")
