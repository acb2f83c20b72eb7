"""Continuing and changing a trained run: more epochs under every schedule, a warm start with
another recipe, the refusals, and the run's record of its attempts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from fakedata import write_mnist
from lightcnn.core.errors import CheckpointError, ConfigError
from lightcnn.lit.optim import SCHEDULERS
from lightcnn.rundir.record import next_attempt, read_attempts, record_dir, replayed_overrides
from lightcnn.train import train


@pytest.fixture(scope="module")
def noisy_mnist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """800 training digits, 10% of them mislabelled: one epoch is far from 100%."""
    return write_mnist(tmp_path_factory.mktemp("noisy"), train=800, test=200, label_noise=0.1)


def quick(noisy_mnist: Path, *more: str) -> tuple[str, ...]:
    return (
        f"paths.data_dir={noisy_mnist}",
        "data.val_size=200",
        "data.batch_size=32",
        "model.lr=0.002",
        "callbacks.model_summary=null",
        *more,
    )


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_a_new_run_continues_a_checkpoint_for_more_epochs(
    make_cfg, noisy_mnist: Path, tmp_path: Path, scheduler: str
) -> None:
    """The lightning-hydra-template's resume test: 1 epoch, then ckpt_path=last.ckpt and
    trainer.max_epochs=2 in a new run, whose metrics are better."""
    options = quick(noisy_mnist, f"model.scheduler={scheduler}", "trainer.max_epochs=1")
    first, _ = train(make_cfg(*options))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    second_dir = tmp_path / "second"
    second, objects = train(
        make_cfg(
            *options, "trainer.max_epochs=2", f"ckpt_path={last}", f"hydra.run.dir={second_dir}"
        )
    )
    assert [entry["epoch"] for entry in second["history"]] == [1, 2]
    assert objects["trainer"].current_epoch == 2
    before, after = first["history"][0], second["history"][1]
    assert after["train/loss_epoch"] < before["train/loss_epoch"]  # training went on
    assert after["val/acc"] >= before["val/acc"]
    if scheduler == "onecycle":  # the default: a new cycle over the added epoch
        assert after["val/acc"] > before["val/acc"]
    assert second["attempts"][0]["continued_from"] == str(last)
    assert second["attempts"][0]["epochs"] == [2]


def test_a_changed_recipe_is_refused_before_anything_is_written(
    make_cfg, mnist_root: Path, tmp_path: Path
) -> None:
    train(make_cfg("trainer.max_epochs=1", "trainer.limit_train_batches=2"))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    other = tmp_path / "other"
    for change, named in (
        ("model.optimizer=sgd", "model.optimizer: 'adamw' → 'sgd'"),
        ("model.scheduler=cosine", "model.scheduler: 'onecycle' → 'cosine'"),
        ("model.pool=avg", "model.pool: 'max' → 'avg'"),
        ("data.batch_size=64", "data.batch_size: 256 → 64"),
    ):
        cfg = make_cfg(f"ckpt_path={last}", change, f"hydra.run.dir={other}")
        with pytest.raises(ConfigError, match=f"{named}.*init_from={last}"):
            train(cfg)
        assert not other.exists()
    # how a run executes may change, and so may its length
    allowed = make_cfg(
        f"ckpt_path={last}",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=2",
        "data.pipeline=torchvision",
        f"hydra.run.dir={other}",
    )
    assert train(allowed)[0]["history"][-1]["epoch"] == 2


def test_a_warm_start_takes_the_weights_with_a_new_recipe(
    make_cfg, mnist_root: Path, tmp_path: Path
) -> None:
    train(make_cfg("trainer.max_epochs=1"))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    weights = torch.load(last, weights_only=True)["state_dict"]
    cfg = make_cfg(
        f"init_from={last}",
        "model.optimizer=sgd",
        "model.scheduler=cosine",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=1",
        f"hydra.run.dir={tmp_path / 'warm'}",
    )
    metrics, objects = train(cfg)
    assert metrics["init_from"] == str(last)
    assert [entry["epoch"] for entry in metrics["history"]] == [1, 2]  # a new run
    assert type(objects["trainer"].optimizers[0]).__name__ == "SGD"
    # with 1 training batch per epoch, the weights started from the checkpoint's: the first
    # validation of the warm run scores what the checkpoint scored
    first = json.loads((tmp_path / "run" / "metrics.json").read_text())["history"][0]
    assert abs(metrics["history"][0]["val/acc"] - first["val/acc"]) < 0.2
    assert objects["model"].net.features[0].weight.shape == weights["net.features.0.weight"].shape


def test_a_warm_start_whose_weights_do_not_fit_is_refused(
    make_cfg, mnist_root: Path, tmp_path: Path
) -> None:
    train(make_cfg("trainer.max_epochs=1", "trainer.limit_train_batches=1"))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    cfg = make_cfg(f"init_from={last}", "model.padding=same", f"hydra.run.dir={tmp_path / 'x'}")
    with pytest.raises(CheckpointError, match="net.classifier.0.weight is .* there, .* here"):
        train(cfg)
    both = make_cfg(f"init_from={last}", f"ckpt_path={last}")
    with pytest.raises(ConfigError, match="init_from and ckpt_path are both set"):
        train(both)


def write_attempt(run_dir: Path, number: int, outcome: str, added: list[str]) -> None:
    folder = run_dir / record_dir(number)
    folder.mkdir(parents=True)
    replay = replayed_overrides(run_dir) if number else []
    (folder / "overrides.yaml").write_text(yaml.safe_dump([*replay, *added]))
    record = {"attempt": number, "outcome": outcome, "added_overrides": added}
    (folder / "attempt.json").write_text(json.dumps(record))


def test_a_later_resume_replays_the_attempts_that_trained_only(tmp_path: Path) -> None:
    write_attempt(tmp_path, 0, "interrupted", ["trainer.max_epochs=3", "ckpt_path=a.ckpt"])
    assert next_attempt(tmp_path) == 1
    write_attempt(tmp_path, 1, "interrupted", ["trainer.max_epochs=5"])
    write_attempt(tmp_path, 2, "failed", ["trainer.max_epochs=9", "data.num_workers=64"])
    assert next_attempt(tmp_path) == 3
    assert replayed_overrides(tmp_path) == ["trainer.max_epochs=3", "trainer.max_epochs=5"]
    assert [a["outcome"] for a in read_attempts(tmp_path)] == [
        "interrupted",
        "interrupted",
        "failed",
    ]
