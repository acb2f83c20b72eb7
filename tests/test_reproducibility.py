"""Same seed, same numbers; atomic checkpoint saves; per-epoch shuffling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lightcnn.core.errors import CheckpointError
from lightcnn.data.sampler import EpochShuffleSampler
from lightcnn.launch.build import AtomicCheckpointIO
from lightcnn.rundir.checkpoints import load_weights_only
from lightcnn.train import train


def test_same_seed_deterministic_runs_give_identical_metrics(make_cfg, tmp_path: Path) -> None:
    overrides = (
        "trainer.max_epochs=2",
        "trainer.deterministic=true",
        "logger=csv",
        "seed=7",
        "model.lr=0.01",
    )
    first, _ = train(make_cfg(*overrides, f"hydra.run.dir={tmp_path / 'a'}"))
    second, _ = train(make_cfg(*overrides, f"hydra.run.dir={tmp_path / 'b'}"))
    for name in ("val/acc", "val/loss", "test/acc", "test/loss"):
        assert first[name] == second[name], name
    other, _ = train(
        make_cfg(*overrides[:-2], "seed=8", "model.lr=0.01", f"hydra.run.dir={tmp_path / 'c'}")
    )
    assert other["val/loss"] != first["val/loss"]


def test_shuffle_order_depends_only_on_seed_and_epoch() -> None:
    epoch = {"value": 0}
    sampler = EpochShuffleSampler(50, seed=3, epoch_fn=lambda: epoch["value"])
    first = list(sampler)
    assert sorted(first) == list(range(50))
    assert list(sampler) == first  # same epoch, same order
    epoch["value"] = 1
    second = list(sampler)
    assert second != first
    assert list(EpochShuffleSampler(50, seed=3, epoch_fn=lambda: 1)) == second
    assert list(EpochShuffleSampler(50, seed=4, epoch_fn=lambda: 1)) != second


def test_a_failed_save_leaves_the_previous_checkpoint_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}}, path)

    def killed_mid_write(checkpoint, filepath, *args, **kwargs) -> None:
        Path(filepath).write_bytes(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr("lightning.fabric.plugins.io.torch_io._atomic_save", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, path)
    torch.testing.assert_close(io.load_checkpoint(path)["state_dict"]["w"], torch.ones(3))


def test_loading_refuses_pickled_code_and_reports_corrupt_files(tmp_path: Path) -> None:
    crafted = tmp_path / "crafted.pt"
    torch.save({"fn": print}, crafted)  # a global callable: refused under weights_only
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_weights_only(crafted)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_weights_only(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_weights_only(garbage)


class NoiseDataset(torch.utils.data.Dataset):
    """Each item is a fresh NumPy random draw, as a NumPy-based augmentation would be (forked
    workers inherit one NumPy state: unless each worker is reseeded they draw the same values)."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        worker = torch.utils.data.get_worker_info()
        return torch.tensor(np.random.rand()), worker.id if worker else -1


def draws(seed: int) -> list[list[tuple[float, int]]]:
    """Two epochs of the data module's train loader over NoiseDataset with two workers."""
    from lightning.fabric.utilities.seed import seed_everything

    from lightcnn.data import MNISTDataModule

    seed_everything(seed, workers=True, verbose=False)
    dm = MNISTDataModule("unused", batch_size=2, num_workers=2)
    dm.train_set = NoiseDataset()
    loader = dm.train_dataloader()
    return [
        [(float(x), int(w)) for xs, ws in loader for x, w in zip(xs, ws, strict=True)]
        for _ in range(2)
    ]


def test_worker_augmentations_differ_per_worker_and_epoch_and_repeat_across_runs() -> None:
    first, again, other = draws(5), draws(5), draws(6)
    assert first == again
    assert first != other
    epoch0, epoch1 = ({value for value, _ in epoch} for epoch in first)
    assert not epoch0 & epoch1
    by_worker = {worker: [value for value, w in first[0] if w == worker] for worker in (0, 1)}
    assert by_worker[0] and by_worker[1] and not set(by_worker[0]) & set(by_worker[1])
