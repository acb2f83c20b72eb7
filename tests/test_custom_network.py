"""A network of one's own (``model=custom``, ``model.net._target_=<import path>``): trained,
evaluated, predicted and summarised from its checkpoint, every option working; and a
checkpoint naming anything but an ``nn.Module`` subclass refused before it is called."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from torch import nn

from conftest import best_checkpoint, compose_job, run_cli
from lightcnn.config.validation import validate_config
from lightcnn.core.errors import CheckpointError, ConfigError
from lightcnn.eval import evaluate
from lightcnn.models import build_model, trusting
from lightcnn.rundir.checkpoints import Checkpoint
from lightcnn.train import train

PACKAGE = """
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, num_classes: int, in_channels: int, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2)
        )
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def make_mlp(num_classes: int, in_channels: int, image_size: int, hidden: int = 16):
    return nn.Sequential(
        nn.Flatten(), nn.Linear(in_channels * image_size**2, hidden), nn.Linear(hidden, num_classes)
    )


def not_a_network(num_classes: int, in_channels: int):
    return "a string"
"""


@pytest.fixture(scope="module")
def own_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``my_nets`` (``TinyNet``, ``make_mlp``) in a folder put on ``sys.path`` (as on
    ``PYTHONPATH``)."""
    root = tmp_path_factory.mktemp("own_package")
    (root / "my_nets").mkdir()
    (root / "my_nets" / "__init__.py").write_text(textwrap.dedent(PACKAGE))
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        yield root


def overrides(mnist_root: Path, *more: str) -> list[str]:
    return [
        f"paths.data_dir={mnist_root}",
        "data.val_size=100",
        "data.num_workers=0",
        "data.batch_size=32",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=4",
        "logger=csv",
        "model=custom",
        *more,
    ]


@pytest.fixture(scope="module")
def custom_run(own_package: Path, mnist_root: Path, tmp_path_factory) -> Path:
    """A short run of ``my_nets.TinyNet`` (width 12) on the small MNIST."""
    run_dir = tmp_path_factory.mktemp("custom") / "run"
    cfg = compose_job(
        "train",
        overrides(mnist_root, "model.net._target_=my_nets.TinyNet", "+model.net.width=12"),
        run_dir,
    )
    try:
        train(cfg)
    finally:
        GlobalHydra.instance().clear()
    return run_dir


def test_the_checkpoint_records_the_import_path_and_arguments(custom_run: Path) -> None:
    payload = torch.load(best_checkpoint(custom_run), weights_only=True)
    assert payload["hyper_parameters"]["net"] == {"_target_": "my_nets.TinyNet", "width": 12}
    assert payload["hyper_parameters"]["arch"] == "custom"
    report = json.loads((custom_run / "report" / "metrics.json").read_text())
    assert report["net"]["_target_"] == "my_nets.TinyNet"


def test_eval_rebuilds_it_from_the_checkpoint_alone(custom_run: Path, tmp_path, caplog) -> None:
    caplog.set_level("INFO", logger="lightcnn")
    cfg = compose_job("eval", [f"ckpt_path={best_checkpoint(custom_run)}"], tmp_path / "eval")
    try:
        metrics = evaluate(cfg)
    finally:
        GlobalHydra.instance().clear()
    assert 0 <= metrics["accuracy"] <= 1
    assert "my_nets.TinyNet: importing my_nets" in caplog.text
    assert (
        "# my_nets.TinyNet on the MNIST test split" in (tmp_path / "eval" / "report.md").read_text()
    )


def test_checkpoint_rebuilds_the_same_network(custom_run: Path) -> None:
    checkpoint = Checkpoint(best_checkpoint(custom_run))
    model = checkpoint.model(checkpoint.requirement())
    assert type(model.net).__name__ == "TinyNet"
    assert model.net.head.in_features == 4 * 12


def test_a_warm_start_and_a_continuation_of_it(custom_run: Path, mnist_root, tmp_path) -> None:
    ckpt = best_checkpoint(custom_run)
    more = ["model.net._target_=my_nets.TinyNet", "+model.net.width=12"]
    cfg = compose_job("train", overrides(mnist_root, *more, f"init_from={ckpt}"), tmp_path / "w")
    try:
        metrics, _ = train(cfg)
    finally:
        GlobalHydra.instance().clear()
    assert metrics["init_from"] == str(ckpt)
    # another width does not fit its weights: one error naming the checkpoint
    wider = ["model.net._target_=my_nets.TinyNet", "+model.net.width=16", f"init_from={ckpt}"]
    cfg = compose_job("train", overrides(mnist_root, *wider), tmp_path / "x")
    try:
        with pytest.raises(CheckpointError, match="its weights do not fit this model"):
            train(cfg)
    finally:
        GlobalHydra.instance().clear()


def test_a_function_returning_a_network_trains_with_every_option(
    own_package: Path, mnist_root: Path, tmp_path: Path
) -> None:
    cfg = compose_job(
        "train",
        overrides(
            mnist_root,
            "model.net._target_=my_nets.make_mlp",
            "+model.net.hidden=8",
            "optim@model=sgd",
            "model.scheduler=cosine",
            "model.label_smoothing=0.1",
            "model.channels_last=true",
        ),
        tmp_path / "run",
    )
    try:
        _, objects = train(cfg)
    finally:
        GlobalHydra.instance().clear()
    assert isinstance(objects["model"].net, nn.Sequential)
    assert objects["model"].net[1].in_features == 28 * 28
    # the checkpoint names a function: refused unless the user names it too
    ckpt = best_checkpoint(tmp_path / "run")
    with pytest.raises(CheckpointError, match="refusing model.net._target_=my_nets.make_mlp"):
        Checkpoint(ckpt)
    checkpoint = Checkpoint(ckpt, trust="my_nets.make_mlp")
    assert isinstance(checkpoint.model(checkpoint.requirement()).net, nn.Sequential)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "model.net._target_ is required"),
        (["model.net._target_=my_nets.Gone"], "my_nets.Gone cannot be imported"),
        (["model.net._target_=nowhere.Net"], "nowhere.Net cannot be imported"),
        (["model.net._target_=TinyNet"], "'TinyNet' is not an import path"),
        (["model.net._target_=my_nets.TinyNet", "+model.net.depth=2"], "cannot be called with"),
        (["model.net._target_=my_nets.TinyNet", "+model.net.num_classes=3"], "set by lightcnn"),
        (["model.net._target_=my_nets.not_a_network"], "returned str, not an nn.Module"),
        (["model.net._target_=my_nets.TinyNet", "+model.pretrained=true"], "model=custom trains"),
        (["model.net._target_=my_nets.TinyNet", "+model.finetune=head"], "fine-tuning policies"),
    ],
)
def test_bad_custom_configs_are_one_config_error(
    own_package: Path, mnist_root: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    cfg = compose_job("train", overrides(mnist_root, *extra), tmp_path / "run")
    GlobalHydra.instance().clear()
    with pytest.raises(ConfigError, match=message):
        validate_config(cfg)


# ----------------------------------------------------------------- a checkpoint is data


def crafted(tmp_path: Path, custom_run: Path, net: dict) -> Path:
    """The custom run's checkpoint with its ``model.net`` replaced (primitives only: it loads
    with ``weights_only=True``)."""
    payload = torch.load(best_checkpoint(custom_run), weights_only=True)
    payload["hyper_parameters"]["net"] = net
    path = tmp_path / f"crafted-{len(list(tmp_path.iterdir()))}.ckpt"
    torch.save(payload, path)
    return path


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("os.system", "not a class"),
        ("builtins.eval", "not a class"),
        ("subprocess.Popen", "a class that is not an nn.Module"),
        ("my_nets.make_mlp", "not a class"),
    ],
)
def test_a_checkpoint_naming_a_callable_is_refused_before_it_is_called(
    custom_run: Path, tmp_path: Path, monkeypatch, target: str, kind: str
) -> None:
    calls: list[tuple] = []
    module_name, name = target.rsplit(".", 1)
    module = __import__(module_name)
    original = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    spied = spy if not isinstance(original, type) else type(name, (original,), {})
    if isinstance(original, type):
        monkeypatch.setattr(spied, "__init__", lambda self, *a, **k: calls.append((a, k)))
    monkeypatch.setattr(module, name, spied)
    marker = tmp_path / "code-was-executed"
    path = crafted(tmp_path, custom_run, {"_target_": target, "command": f"touch {marker}"})
    with pytest.raises(
        CheckpointError, match=f"refusing model.net._target_={target}: it is {kind}"
    ):
        Checkpoint(path)
    # the module's own constructor (as Lightning's load_from_checkpoint uses) refuses it too
    with pytest.raises(ConfigError, match="refusing"):
        build_model(
            "custom", num_classes=10, in_channels=1, image_size=28, net={"_target_": target}
        )
    assert calls == []
    assert not marker.exists()


def test_the_user_naming_the_same_target_allows_it(custom_run: Path, tmp_path: Path) -> None:
    path = crafted(tmp_path, custom_run, {"_target_": "my_nets.make_mlp"})
    with pytest.raises(CheckpointError, match="refusing"):
        Checkpoint(path, trust="my_nets.other")  # another path allows nothing
    assert Checkpoint(path, trust="my_nets.make_mlp").trust == "my_nets.make_mlp"
    with trusting("my_nets.make_mlp"):
        net = build_model(
            "custom",
            num_classes=3,
            in_channels=1,
            image_size=8,
            net={"_target_": "my_nets.make_mlp"},
        )
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 3)


def test_a_module_that_is_gone_is_one_line(custom_run: Path, tmp_path: Path) -> None:
    path = crafted(tmp_path, custom_run, {"_target_": "renamed_pkg.nets.TinyNet", "width": 12})
    with pytest.raises(CheckpointError, match=r"renamed_pkg.nets.TinyNet cannot be imported"):
        Checkpoint(path)


@pytest.mark.slow
def test_the_cli_refuses_a_crafted_checkpoint_and_writes_nothing(
    custom_run: Path, tmp_path: Path, own_package: Path
) -> None:
    marker = tmp_path / "code-was-executed"
    path = crafted(tmp_path, custom_run, {"_target_": "os.system", "command": f"touch {marker}"})
    out = tmp_path / "out"
    result = run_cli(
        f"ckpt_path={path}", f"hydra.run.dir={out}", cwd=tmp_path, module="lightcnn.eval"
    )
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(f"lightcnn: error: {path}: refusing model.net._target_=os.system")
    assert "Traceback" not in result.stderr
    assert not marker.exists() and not out.exists()


def test_summary_of_the_config_and_of_the_checkpoint(custom_run: Path, tmp_path: Path) -> None:
    from rich.console import Console

    from lightcnn.summary import print_summary

    texts = []
    for overrides in (
        ["model=custom", "model.net._target_=my_nets.TinyNet", "+model.net.width=12"],
        [f"checkpoint={best_checkpoint(custom_run)}"],
    ):
        console = Console(record=True, width=120)
        try:
            print_summary(compose_job("summary", overrides, tmp_path), console)
        finally:
            GlobalHydra.instance().clear()
        texts.append(console.export_text())
    for text in texts:
        assert "TinyNet on 1×28×28 input" in text and "my_nets.TinyNet: feature maps" in text
    assert texts[0].splitlines()[-1] == texts[1].splitlines()[-1]  # the same parameters
