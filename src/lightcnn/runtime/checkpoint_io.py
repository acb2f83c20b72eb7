"""Lightning's checkpoint plugin: files written atomically, read with ``weights_only=True`` only.

``AtomicCheckpointIO`` is handed to the Trainer, so every save and every load Lightning does
(best/last checkpoints, resume, test on the best checkpoint) goes through it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from lightcnn.errors import CheckpointError
from lightcnn.runtime.checkpoints import load_weights_only


class AtomicCheckpointIO(TorchCheckpointIO):
    """Save to ``<name>.partial`` and rename, so a kill during a save never leaves a corrupt file;
    load with ``weights_only=True`` whatever the caller asks."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        try:
            super().save_checkpoint(checkpoint, partial, storage_options)
            os.replace(partial, path)
        except OSError as error:  # a full disk, a folder removed or made read-only mid-run
            partial.unlink(missing_ok=True)
            raise CheckpointError(
                f"could not write the checkpoint {path} ({error.strerror or error}); "
                "the checkpoints written before it are kept"
            ) from error

    def load_checkpoint(
        self, path: str | Path, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return load_weights_only(path, map_location=map_location or "cpu")
