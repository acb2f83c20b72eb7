"""Bad input a new user would plausibly give, through the real CLI: one clear line, exit 2,
nothing lost. The subprocesses run concurrently (they mostly wait on imports)."""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lightning as L
import pytest
import torch

from conftest import run_cli
from fakedata import write_mnist
from lightcnn.callbacks import NonFiniteLossGuard
from lightcnn.config.validation import validate_config
from lightcnn.core.errors import ConfigError, NonFiniteLossError

pytestmark = pytest.mark.slow

CONFIG_CASES: dict[str, tuple[list[str], str]] = {
    "batch_size_zero": (
        ["data.batch_size=0"],
        "data.batch_size=0 is not allowed: it must be a positive integer",
    ),
    "batch_size_text": (["data.batch_size=abc"], "data.batch_size='abc' is not allowed"),
    "negative_lr": (["model.lr=-0.1"], "model.lr=-0.1 is not allowed: it must be a number > 0"),
    "val_fraction": (["data.val_size=1.5"], "data.val_size=1.5 is not allowed"),
    "one_class": (
        ["data.num_classes=1"],
        "data.num_classes=1 is not allowed: it must be an integer >= 2",
    ),
    "optimizer": (
        ["model.optimizer=rmsprop"],
        "model.optimizer='rmsprop' is not allowed: it must be one of adam, adamw, sgd",
    ),
    "scheduler": (["model.scheduler=poly"], "model.scheduler='poly' is not allowed"),
    "pool": (["model.pool=median"], "model.pool='median' is not a LeNet-5 pooling; allowed:"),
    "padding": (["model.padding=mirror"], "unknown padding 'mirror'; allowed: valid, same"),
    "activation": (["model.activation=gelu"], "unknown activation 'gelu'; allowed: relu"),
    "too_small": (["model.input.image_size=8"], "input 8×8 is too small"),
    "fixed_size": (
        ["model=lenet5_1998", "model.input.image_size=28"],
        "lenet5_1998 needs S4 maps of at least 5×5 for its 5×5 C5 convolution",
    ),
    "epochs": (["trainer.max_epochs=0"], "trainer.max_epochs=0 is not allowed"),
    "optim_node": (["+optim=sgd"], "select it with optim@model=<preset> (adam, adamw, sgd)"),
    "input_option": (["+model.input.side=3"], "model.input.side is not an input option"),
    "switch_text": (
        ["data.random_crop=maybe"],
        "data.random_crop='maybe' is not allowed: it must be true or false",
    ),
    "crop_padding": (["data.crop_padding=-2"], "data.crop_padding=-2 is not allowed"),
    "profiler": (
        ["+trainer.profiler=bogus"],
        "trainer.profiler='bogus' is not allowed: it must be one of simple, advanced, pytorch",
    ),
    "missing_ckpt": (["ckpt_path=nowhere.ckpt"], "ckpt_path=nowhere.ckpt: no such file"),
    "mnist_classes": (["data.num_classes=5"], "data.num_classes=5 but MNIST has 10 classes"),
    "val_too_large": (
        ["data.val_size=600"],
        "data.val_size=600 must be smaller than the 600 training images",
    ),
}


def digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


#: the cases that also go through the real CLI (one line, exit 2, no run directory); every
#: case's message is checked in-process, by the same validation the CLI runs first (but
#: val_too_large: the split is checked when the data is set up, and the unused run folder removed)
CLI_CASES = ("batch_size_zero", "optim_node", "val_too_large")


@pytest.fixture(scope="module")
def config_results(tmp_path_factory: pytest.TempPathFactory, mnist_root: Path) -> dict:
    """Run the CLI cases once, concurrently (they mostly wait on imports)."""
    base = tmp_path_factory.mktemp("bad-config")

    def run(name: str):
        args, _ = CONFIG_CASES[name]
        return run_cli(
            *args, f"paths.data_dir={mnist_root}", f"hydra.run.dir={base / name}", cwd=base
        )

    with ThreadPoolExecutor(max_workers=len(CLI_CASES)) as pool:
        results = dict(zip(CLI_CASES, pool.map(run, CLI_CASES), strict=True))
    return {"base": base, "results": results}


@pytest.mark.parametrize("case", CLI_CASES)
def test_bad_config_value_gives_one_line_and_no_run_directory(
    config_results: dict, case: str
) -> None:
    result = config_results["results"][case]
    _, message = CONFIG_CASES[case]
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "Traceback" in line]
    assert errors == [lines[-1]] and lines[-1].startswith("lightcnn: error: "), result.stderr[
        -2000:
    ]
    assert message in lines[-1]
    assert not (config_results["base"] / case).exists()  # nothing was created


@pytest.mark.parametrize("case", [c for c in CONFIG_CASES if c != "val_too_large"])
def test_bad_config_value_is_named_with_what_is_allowed(make_cfg, case: str) -> None:
    args, message = CONFIG_CASES[case]
    with pytest.raises(ConfigError) as caught:
        validate_config(make_cfg(*args))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)  # one line


def test_unknown_group_option_lists_the_choices(tmp_path: Path) -> None:
    result = run_cli("model=lenet9", cwd=tmp_path)
    assert result.returncode == 1
    assert "Could not find 'model/lenet9'" in result.stderr
    assert "lenet5_1998" in result.stderr  # Hydra lists the available options


@pytest.fixture
def broken_mnist(tmp_path: Path) -> Path:
    return write_mnist(tmp_path / "data", train=300, test=100)


def corrupt_truncated(raw: Path) -> str:
    path = raw / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    return f"{path} is truncated or corrupt"


def corrupt_not_idx(raw: Path) -> str:
    path = raw / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"<html>Not Found</html>" * 10)
    return f"{path} is not an MNIST IDX file"


def corrupt_shape(raw: Path) -> str:
    path = raw / "t10k-images-idx3-ubyte"
    header = (0x0803).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (10, 32, 32))
    path.write_bytes(header + bytes(10 * 32 * 32))
    return f"{path} holds 10×32×32 images; MNIST's are 28×28"


def corrupt_counts(raw: Path) -> str:
    path = raw / "train-labels-idx1-ubyte"
    header = (0x0801).to_bytes(4, "big") + (299).to_bytes(4, "big")
    path.write_bytes(header + bytes(299))
    return "train has 300 images but 299 labels"


@pytest.mark.parametrize(
    "corrupt", [corrupt_truncated, corrupt_not_idx, corrupt_shape, corrupt_counts]
)
def test_broken_dataset_file_is_named_and_left_untouched(
    broken_mnist: Path, tmp_path: Path, corrupt
) -> None:
    raw = broken_mnist / "MNIST" / "raw"
    message = corrupt(raw)
    before = digest(broken_mnist)
    result = run_cli(
        f"paths.data_dir={broken_mnist}",
        "data.val_size=50",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert digest(broken_mnist) == before  # nothing deleted or rewritten


def test_a_finished_run_is_not_overwritten(tmp_path: Path, mnist_root: Path) -> None:
    run_dir = tmp_path / "finished"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / "metrics.json").write_text('{"test/acc": 0.99}\n')
    (run_dir / ".hydra" / "config.yaml").write_text("original: true\n")
    before = digest(run_dir)
    result = run_cli(f"paths.data_dir={mnist_root}", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{run_dir} already holds a finished run" in result.stderr
    assert digest(run_dir) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "sweep_dir is missing: name the sweep's folder"),
        (("sweep_dir=/no/such/sweep",), "sweep_dir=/no/such/sweep: no such folder"),
    ],
)
def test_the_leaderboard_command_names_what_is_wrong(tmp_path: Path, args, message) -> None:
    result = run_cli(*args, module="lightcnn.leaderboard", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"lightcnn: error: {message}"), lines


class RunsCode:
    """Pickles into a call of os.system: what a malicious checkpoint would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_carrying_code_is_refused_and_never_run(
    tmp_path: Path, mnist_root: Path
) -> None:
    marker = tmp_path / "code-was-executed"
    crafted = tmp_path / "crafted.ckpt"
    torch.save({"state_dict": {}, "payload": RunsCode(marker)}, crafted)
    result = run_cli(
        f"ckpt_path={crafted}",
        f"paths.data_dir={mnist_root}",
        "data.val_size=50",
        "data.num_workers=0",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"refusing to load {crafted}" in result.stderr
    assert "weights_only=True" in result.stderr
    assert not marker.exists()


def test_a_truncated_checkpoint_is_reported(tmp_path: Path, mnist_root: Path) -> None:
    broken = tmp_path / "broken.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, broken)
    broken.write_bytes(broken.read_bytes()[:100])
    result = run_cli(
        f"ckpt_path={broken}",
        f"paths.data_dir={mnist_root}",
        "data.val_size=50",
        "data.num_workers=0",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert f"{broken} is not a readable PyTorch checkpoint" in result.stderr


def test_a_diverging_run_stops_at_the_first_nan_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, mnist_root: Path
) -> None:
    """Epoch 0 trains normally; the step scheduler then multiplies the learning rate by 1e12."""
    run_dir = tmp_path / "run"
    result = run_cli(
        f"paths.data_dir={mnist_root}",
        "data.val_size=100",
        "data.num_workers=0",
        "trainer.max_epochs=3",
        "model.optimizer=sgd",
        "model.lr=0.01",
        "model.scheduler=step",
        "+model.scheduler_kwargs.step_size=1",
        "+model.scheduler_kwargs.gamma=1e12",
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    line = result.stderr.strip().splitlines()[-1]
    last = run_dir / "checkpoints" / "last.ckpt"
    assert (
        "train/loss became nan at epoch 1" in line or "train/loss became inf at epoch 1" in line
    ), line
    assert f"the last good checkpoint is {last}" in line and "model.lr=0.01" in line
    payload = torch.load(last, weights_only=True)
    assert payload["epoch"] == 0
    assert all(torch.isfinite(t).all() for t in payload["state_dict"].values())
    # the run's record says how it ended, and keeps the folder from being reused
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "failed" and record["error_type"] == "NonFiniteLossError"
    assert record["last_checkpoint"] == str(last) and "train/loss became" in record["error"]


def test_a_run_failing_during_training_keeps_its_directory_with_the_evidence(
    tmp_path: Path, mnist_root: Path
) -> None:
    """model.lr=1e6 diverges within the first epoch, before any checkpoint: the error line, and
    the directory kept with its log, TensorBoard events and failure record."""
    run_dir = tmp_path / "run"
    result = run_cli(
        f"paths.data_dir={mnist_root}",
        "data.val_size=100",
        "data.num_workers=0",
        "data.batch_size=64",  # steps enough to diverge on the small MNIST
        "trainer.max_epochs=1",
        "model.lr=1e6",
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("lightcnn: error: train/loss became") and "no checkpoint" in line
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "failed" and record["error_type"] == "NonFiniteLossError"
    assert record["last_checkpoint"] is None and record["error"] in line
    (attempt,) = record["attempts"]
    assert attempt["outcome"] == "failed" and attempt["training_started"] is True
    assert "train/loss became" in (run_dir / "train.log").read_text()
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))


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


@pytest.mark.parametrize(("check_every", "where"), [(1, "step 8;"), (5, "a step in 6–10;")])
def test_the_nan_guard_names_the_step_or_the_steps_since_its_last_read(
    check_every: int, where: str
) -> None:
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[NonFiniteLossGuard(check_every=check_every)],
    )
    with pytest.raises(NonFiniteLossError, match=f"became nan at epoch 0, {where}"):
        trainer.fit(
            _NanAfter(bad=7), train_dataloaders=torch.utils.data.DataLoader(torch.ones(20, 1))
        )


def test_an_unwritable_run_directory_is_one_line(tmp_path: Path) -> None:
    result = run_cli("paths.log_dir=/proc/lightcnn", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "lightcnn: error: cannot write the run directory /proc/lightcnn/train/runs/"
    )
    assert "choose a writable folder with paths.log_dir" in lines[0]
