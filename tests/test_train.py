"""Training end to end: Python API and CLI, run directory, checkpoints, TensorBoard, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch.profilers import SimpleProfiler
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import run_cli
from lightcnn.launch.build import build_data_and_model
from lightcnn.lit import ImageClassifier
from lightcnn.train import train


def scalar_tags(run_dir: Path) -> set[str]:
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return set(events.Tags()["scalars"])


def test_fast_dev_run_through_the_python_api(make_cfg) -> None:
    metrics, objects = train(make_cfg("debug=fdr"))
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert metrics["ckpt_path"] is None  # fast_dev_run writes no checkpoint
    assert objects["trainer"].fast_dev_run
    # the fused optimizer update, on the CPU as on GPUs
    assert objects["trainer"].optimizers[0].param_groups[0]["fused"] is True


def test_a_configured_profiler_is_used(make_cfg) -> None:
    _, objects = train(make_cfg("debug=fdr", "+trainer.profiler=simple"))
    assert isinstance(objects["trainer"].profiler, SimpleProfiler)


@pytest.mark.parametrize("arch", ["lenet5", "lenet5_1998"])
def test_short_run_writes_the_run_directory(make_cfg, tmp_path: Path, arch: str) -> None:
    cfg = make_cfg(
        f"model={arch}",
        "debug=limit",
        "trainer.limit_train_batches=4",
        "trainer.limit_val_batches=2",
        "trainer.log_every_n_steps=1",
    )
    metrics, _ = train(cfg)
    run_dir = tmp_path / "run"
    written = json.loads((run_dir / "metrics.json").read_text())
    assert written["test/acc"] == pytest.approx(metrics["test/acc"])
    assert {"val/acc", "val/loss", "test/acc", "test/loss", "ckpt_path"} <= set(written)
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints and len(checkpoints) == 2
    assert Path(written["ckpt_path"]).parent == run_dir / "checkpoints"
    # one history entry per epoch, in time order, read before the test ran
    history = written["history"]
    assert [entry["epoch"] for entry in history] == list(range(1, cfg.trainer.max_epochs + 1))
    elapsed = [entry["elapsed_s"] for entry in history]
    assert 0 < elapsed[0] <= elapsed[-1] <= written["wall_time_s"]
    assert {"val/acc", "val/loss", "train/acc"} <= set(history[-1])
    assert set(written["time_to_val_acc_s"]) <= {"0.5", "0.9", "0.95", "0.98", "0.99"}
    assert {
        "train/loss_step",
        "train/loss_epoch",
        "train/acc",
        "val/acc",
        "val/loss",
        "test/acc",
    } <= scalar_tags(run_dir)


def test_every_checkpoint_loads_with_weights_only(make_cfg, tmp_path: Path) -> None:
    train(
        make_cfg(
            "debug=limit",
            "trainer.limit_train_batches=3",
            "model.pool=avg",
            "model.scheduler=cosine",
        )
    )
    paths = sorted((tmp_path / "run" / "checkpoints").glob("*.ckpt"))
    assert paths
    for path in paths:
        payload = torch.load(path, weights_only=True, map_location="cpu")
        assert payload["hyper_parameters"]["arch"] == "lenet5"
        assert payload["hyper_parameters"]["pool"] == "avg"
        model = ImageClassifier.load_from_checkpoint(path, map_location="cpu")
        assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
        state = payload["state_dict"]
        torch.testing.assert_close(
            model.state_dict()["net.features.0.weight"], state["net.features.0.weight"]
        )


def test_learning_happens_on_learnable_data(make_cfg) -> None:
    """On the small MNIST (the class is a bar's position) a few epochs must beat chance clearly."""
    metrics, _ = train(make_cfg("trainer.max_epochs=4", "logger=csv", "data.batch_size=32"))
    assert metrics["val/acc"] > 0.5 and metrics["test/acc"] > 0.5


@pytest.mark.slow
def test_cli_fast_dev_run_from_another_directory(tmp_path: Path, mnist_root: Path) -> None:
    result = run_cli(
        "debug=fdr",
        f"paths.data_dir={mnist_root}",
        f"hydra.run.dir={tmp_path / 'run'}",
        "data.val_size=100",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "Result (final weights)" in output
    assert f"Run directory: {tmp_path / 'run'}" in output
    assert (tmp_path / "run" / ".hydra" / "config.yaml").is_file()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test/acc"] >= 0.0
    # a clean console: each message once, no advertising, no dependency deprecations
    lines = [line.split("] ", 1)[-1] for line in output.splitlines() if line.startswith("[")]
    assert lines and len(lines) == len(set(lines)), "a message was printed twice"
    assert "GPU available" in output  # Lightning's useful lines stay
    noise_lines = ("Tip:", "deprecated", "INFO:", "TPU available", "100% of the batches")
    # nanobind's "leaked function" report at exit: what gc.freeze() before exiting caused
    for noise in (*noise_lines, "nanobind", "leaked"):
        assert noise not in output
    log = (tmp_path / "run" / "train.log").read_text()
    assert "Result (final weights)" in log and "GPU available" in log
    # the process ends without the interpreter's teardown (core/teardown.py): what it wrote
    # last is there, on the console and in train.log (test_resume.py reads the event files)
    assert output.rstrip().endswith(f"Run directory: {tmp_path / 'run'}")
    assert log.rstrip().endswith(f"Run directory: {tmp_path / 'run'}")


@pytest.mark.slow
def test_offline_without_files_fails_with_a_short_clear_message(tmp_path: Path) -> None:
    empty = tmp_path / "no-data"
    result = run_cli(
        f"paths.data_dir={empty}",
        "data.download=false",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert str(empty / "MNIST" / "raw") in output
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        assert name in output


def test_gpu_speed_switches_compose_and_run_on_cpu(make_cfg) -> None:
    cfg = make_cfg(
        "debug=fdr",
        "model.channels_last=true",
        "trainer.precision=bf16-mixed",
        "trainer.benchmark=true",
    )
    metrics, objects = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0
    weight = objects["model"].net.features[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)


def test_compile_keeps_clean_state_dict_keys(make_cfg) -> None:

    cfg = make_cfg("model.compile=true")
    _, model = build_data_and_model(cfg)
    model.configure_model()
    assert model.net._compiled_call_impl is not None  # compiled in place (nn.Module.compile)
    keys = list(model.state_dict())
    assert keys and all(
        key.startswith(("net.", "train_acc", "val_acc", "test_acc")) for key in keys
    )
    assert not any("_orig_mod" in key for key in keys)


def test_a_run_without_any_logger_trains_and_tests(make_cfg) -> None:
    """``~logger``: no logger at all; the learning-rate monitor, which needs one, is left out."""
    metrics, objects = train(make_cfg("~logger", "trainer.max_epochs=1", "data.batch_size=64"))
    assert metrics["status"] == "completed" and 0.0 <= metrics["test/acc"] <= 1.0
    assert not objects["trainer"].loggers
