"""Reading checkpoint files: ``torch.load(..., weights_only=True)`` only, one clear error for
every way it can fail. No Lightning here: the checks before a run read checkpoints too."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from lightcnn.errors import CheckpointError


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
