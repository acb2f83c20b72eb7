"""The GPU path: the headline command with every speed switch, the deferred NaN check, and
DDP on one GPU. Skipped without CUDA (CI has none); run them on a GPU machine with
``make test ARGS="-m gpu"``."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import pytest
import torch

from lightcnn.callbacks import NonFiniteLossGuard
from lightcnn.core.errors import NonFiniteLossError
from lightcnn.train import train

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

SHORT = (
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=2",
    "trainer.limit_test_batches=2",
    "data.batch_size=8",
    "data.val_size=100",
)


def test_headline_command_with_every_gpu_speed_switch(make_cfg, cifar10_root: Path) -> None:
    """``model=alexnet data=cifar10`` at 224×224 with bf16, channels-last, torch.compile and
    the tensor pipeline on the device."""
    cfg = make_cfg(
        "model=alexnet",
        "data=cifar10",
        f"paths.data_dir={cifar10_root}",
        "trainer.accelerator=gpu",
        "trainer.precision=bf16-mixed",
        "trainer.benchmark=true",
        "model.channels_last=true",
        "model.compile=true",
        *SHORT,
    )
    metrics, objects = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0
    model, datamodule = objects["model"], objects["datamodule"]
    assert model.device.type == "cuda"
    assert model.net._compiled_call_impl is not None
    assert model.net.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    images, labels = next(iter(datamodule.test_dataloader()))
    assert images.device.type == "cuda" and images.dtype == torch.uint8  # held on the device
    batch, _ = datamodule.on_after_batch_transfer((images, labels), 0)
    assert batch.shape == (8, 3, 224, 224) and batch.device.type == "cuda"


class _NanAfter(L.LightningModule):
    """A one-weight model whose loss turns NaN from batch ``bad`` on."""

    def __init__(self, bad: int) -> None:
        super().__init__()
        self.bad = bad
        self.weight = torch.nn.Parameter(torch.ones(1))

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        loss = (self.weight * batch).sum()
        return loss * float("nan") if batch_idx >= self.bad else loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


def test_a_nan_on_the_gpu_is_caught_within_log_every_n_steps() -> None:
    """On a GPU the guard keeps its flag on the device and reads it every
    ``log_every_n_steps`` steps, so it never makes the GPU wait at every step."""
    trainer = L.Trainer(
        accelerator="gpu",
        devices=1,
        max_epochs=1,
        log_every_n_steps=5,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[NonFiniteLossGuard()],
    )
    with pytest.raises(NonFiniteLossError, match="became nan at epoch 0, a step in 6–10;"):
        trainer.fit(
            _NanAfter(bad=7), train_dataloaders=torch.utils.data.DataLoader(torch.ones(20, 1))
        )


# what Lightning's ddp launcher sets in the launching process, here the pytest worker
DDP_ENVIRONMENT = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


@pytest.fixture
def launching_process_restored():
    """The worker as before an in-process DDP run: its environment and no process group.

    Lightning's ddp launcher leaves ``LOCAL_RANK``, ``WORLD_SIZE``, ... in the process that
    launched it. Later tests in this worker, and the CLI subprocesses they start with its
    environment, would read ``LOCAL_RANK`` as "launched by a scheduler": ``trainer=ddp_sim``
    would then start no second rank.
    """
    saved = {name: os.environ.get(name) for name in DDP_ENVIRONMENT}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


@pytest.mark.usefixtures("launching_process_restored")
def test_ddp_preset_on_one_gpu(make_cfg, mnist_root: Path, tmp_path: Path) -> None:
    cfg = make_cfg("trainer=ddp", "trainer.accelerator=gpu", "trainer.devices=1", *SHORT)
    metrics, objects = train(cfg)
    assert objects["trainer"].strategy.__class__.__name__ == "DDPStrategy"
    assert (tmp_path / "run" / "metrics.json").is_file() and "test/acc" in metrics
