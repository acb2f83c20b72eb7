"""Pretrained AlexNet: torchvision's real loading path, local weights, errors, fine-tuning policy.

The weights are a random torchvision AlexNet state dict saved under the ImageNet weights' file
name in a temporary ``TORCH_HOME/hub/checkpoints/`` (fixture ``torch_home``): torchvision's own
``AlexNet_Weights.IMAGENET1K_V1.get_state_dict`` reads it. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from conftest import input_of, run_cli
from lightcnn.core.errors import ConfigError, WeightsError
from lightcnn.data import CIFAR10Source, MNISTSource
from lightcnn.launch.build import build_data_and_model
from lightcnn.lit import ImageClassifier
from lightcnn.lit.options import check_module_options
from lightcnn.models.alexnet import AlexNet
from lightcnn.models.pretrained import hub_cache_file
from lightcnn.train import train

CACHE_NAME = "alexnet-owt-7be5be79.pth"
RGB32 = {"image_size": 32, "in_channels": 3, "mean": [0.5] * 3, "std": [0.25] * 3}
# the cheapest AlexNet run; a constant LR so that param groups show their configured LR
SMALL = ("model=alexnet", "model.input.image_size=63", "data.batch_size=4", "model.scheduler=none")


def on_cifar10(root: Path) -> tuple[str, str]:
    """Overrides that train on the small CIFAR-10 at ``root``."""
    return ("data=cifar10", f"paths.data_dir={root}")


def cached_state(home: Path) -> dict[str, torch.Tensor]:
    return torch.load(home / "hub" / "checkpoints" / CACHE_NAME, weights_only=True)


def quick_trainer(**kwargs) -> L.Trainer:
    options = {
        "accelerator": "cpu",
        "max_epochs": 1,
        "limit_train_batches": 1,
        "limit_val_batches": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    return L.Trainer(**(options | kwargs))


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TORCH_HOME and a downloader that fails as it does without network."""

    def no_network(url: str, *args, **kwargs) -> None:
        raise URLError("no network (test)")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "empty_torch_home"


def test_pretrained_loads_through_torchvisions_cache_and_gets_a_new_head(torch_home: Path) -> None:
    assert hub_cache_file() == torch_home / "hub" / "checkpoints" / CACHE_NAME
    model = AlexNet(num_classes=10, image_size=63, pretrained=True)
    state, ours = cached_state(torch_home), model.state_dict()
    for key in (
        "features.0.weight",
        "features.10.bias",
        "classifier.1.weight",
        "classifier.4.bias",
    ):
        torch.testing.assert_close(ours[key], state[key])
    assert ours["classifier.6.weight"].shape == (10, 4096)
    assert state["classifier.6.weight"].shape == (1000, 4096)
    assert model.pretrained


def test_weights_path_loads_a_local_state_dict_instead(
    alexnet_weights_home: Path, offline: Path
) -> None:
    path = alexnet_weights_home / "hub" / "checkpoints" / CACHE_NAME
    model = AlexNet(num_classes=3, image_size=63, weights_path=str(path))
    torch.testing.assert_close(
        model.state_dict()["features.3.weight"],
        cached_state(alexnet_weights_home)["features.3.weight"],
    )
    assert model.classifier[6].out_features == 3


def test_offline_without_cached_weights_fails_and_never_falls_back(offline: Path) -> None:
    with pytest.raises(WeightsError) as error:
        AlexNet(image_size=63, pretrained=True)
    message = str(error.value)
    assert str(offline / "hub" / "checkpoints" / CACHE_NAME) in message
    assert "model.weights_path" in message and "no network (test)" in message


def test_wrong_keys_and_shapes_are_named(tmp_path: Path, offline: Path) -> None:
    model = AlexNet(image_size=63)
    state = dict(model.state_dict())
    state["features.0.weight"] = torch.zeros(64, 1, 11, 11)
    state.pop("classifier.4.bias")
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError) as error:
        model.load_backbone(state, "my.pth")
    message = str(error.value)
    assert "my.pth does not hold torchvision AlexNet weights" in message
    assert "missing keys: classifier.4.bias" in message
    assert "unexpected keys: extra.weight" in message
    assert "features.0.weight (64, 1, 11, 11) (expected (64, 3, 11, 11))" in message

    other = tmp_path / "lenet.pth"
    torch.save(ImageClassifier().net.state_dict(), other)
    with pytest.raises(WeightsError, match="lenet.pth does not hold torchvision AlexNet weights"):
        AlexNet(image_size=63, weights_path=str(other))
    garbage = tmp_path / "garbage.pth"
    garbage.write_text("not a torch file")
    with pytest.raises(WeightsError, match="could not be read as a state dict"):
        AlexNet(image_size=63, weights_path=str(garbage))
    with pytest.raises(WeightsError, match="model.weights_path=.*missing.pth is not a file"):
        AlexNet(image_size=63, weights_path=str(tmp_path / "missing.pth"))


def test_pretrained_needs_the_weights_layout(torch_home: Path) -> None:
    with pytest.raises(ConfigError, match="3-channel inputs and model.padding=default"):
        AlexNet(image_size=63, pretrained=True, padding="same")
    with pytest.raises(ConfigError, match="in_channels=1"):
        AlexNet(image_size=63, in_channels=1, pretrained=True)


def test_pretrained_switches_the_data_to_the_weights_preprocessing(make_cfg) -> None:
    scratch = input_of(make_cfg("model=alexnet", "data=cifar10"))
    assert (scratch.image_size, scratch.in_channels) == (224, 3)
    assert scratch.mean == CIFAR10Source.mean  # the dataset's own statistics
    imagenet = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    for weights in ("model.pretrained=true", "model.weights_path=/w.pth"):
        spec = input_of(make_cfg("model=alexnet", weights))  # MNIST: grey repeated to RGB
        assert (spec.in_channels, (spec.mean, spec.std)) == (3, imagenet)
    assert input_of(make_cfg("model=alexnet_cifar")).mean == MNISTSource.mean


def test_finetune_head_trains_only_the_new_head(make_cfg, torch_home, cifar10_root) -> None:
    cfg = make_cfg(
        *SMALL, *on_cifar10(cifar10_root), "model.pretrained=true", "model.finetune=head"
    )
    datamodule, model = build_data_and_model(cfg)
    before = {k: v.clone() for k, v in model.net.state_dict().items()}
    trainer = quick_trainer()
    trainer.fit(model, datamodule=datamodule)
    after = model.net.state_dict()
    for key, value in before.items():
        if key.startswith("classifier.6."):
            assert not torch.equal(after[key], value), f"{key} did not train"
        else:
            torch.testing.assert_close(after[key], value, rtol=0, atol=0, msg=key)
    assert not model.net.features[0].weight.requires_grad
    assert [g["name"] for g in trainer.optimizers[0].param_groups] == ["head"]


def test_finetune_full_trains_pretrained_layers_at_a_lower_lr(
    make_cfg, torch_home, cifar10_root
) -> None:
    cfg = make_cfg(
        *SMALL, *on_cifar10(cifar10_root), "model.pretrained=true", "model.finetune=full"
    )
    datamodule, model = build_data_and_model(cfg)
    before = model.net.features[0].weight.clone()
    trainer = quick_trainer()
    trainer.fit(model, datamodule=datamodule)
    backbone, head = trainer.optimizers[0].param_groups
    assert (backbone["name"], head["name"]) == ("backbone", "head")
    assert head["lr"] == cfg.model.lr
    assert backbone["lr"] == pytest.approx(cfg.model.lr * cfg.model.backbone_lr_scale)
    assert backbone["lr"] < head["lr"]
    assert any(p is model.net.features[0].weight for p in backbone["params"])
    assert [id(p) for p in head["params"]] == [id(p) for p in model.net.classifier[6].parameters()]
    assert not torch.equal(model.net.features[0].weight, before)


def test_scratch_alexnet_trains_everything_at_one_lr(make_cfg, cifar10_root) -> None:
    cfg = make_cfg(*SMALL, *on_cifar10(cifar10_root))
    datamodule, model = build_data_and_model(cfg)
    trainer = quick_trainer()
    trainer.fit(model, datamodule=datamodule)
    (group,) = trainer.optimizers[0].param_groups
    assert group["lr"] == cfg.model.lr and len(group["params"]) == 16


class BackboneRecorder(L.Callback):
    """The first conv's weights and the optimizer's group names at the end of each epoch."""

    def __init__(self) -> None:
        self.weights: list[torch.Tensor] = []
        self.groups: list[list[str]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.weights.append(pl_module.net.features[0].weight.detach().clone())
        self.groups.append([g["name"] for g in trainer.optimizers[0].param_groups])


def test_gradual_unfreezes_the_backbone_at_the_given_epoch(
    make_cfg, torch_home, cifar10_root
) -> None:
    cfg = make_cfg(
        *SMALL,
        *on_cifar10(cifar10_root),
        "model.pretrained=true",
        "model.finetune=gradual",
        "model.unfreeze_epoch=1",
        "model.scheduler=step",
    )
    datamodule, model = build_data_and_model(cfg)
    initial = model.net.features[0].weight.detach().clone()
    recorder = BackboneRecorder()
    trainer = quick_trainer(max_epochs=2, callbacks=[recorder])
    trainer.fit(model, datamodule=datamodule)
    assert recorder.groups == [["head"], ["head", "backbone"]]
    torch.testing.assert_close(recorder.weights[0], initial, rtol=0, atol=0)
    assert not torch.equal(recorder.weights[1], initial)
    head, backbone = trainer.optimizers[0].param_groups
    assert backbone["lr"] == pytest.approx(head["lr"] * cfg.model.backbone_lr_scale)


def test_gradual_resumed_after_the_unfreeze_keeps_training_the_backbone(
    make_cfg, torch_home, cifar10_root, tmp_path: Path
) -> None:
    cfg = make_cfg(
        *SMALL,
        *on_cifar10(cifar10_root),
        "model.pretrained=true",
        "model.finetune=gradual",
        "model.unfreeze_epoch=1",
    )
    checkpoints = tmp_path / "checkpoints"
    datamodule, first = build_data_and_model(cfg)
    saver = ModelCheckpoint(dirpath=checkpoints, save_last=True)
    quick_trainer(max_epochs=2, enable_checkpointing=True, callbacks=[saver]).fit(
        first, datamodule=datamodule
    )
    datamodule, resumed = build_data_and_model(cfg)
    recorder = BackboneRecorder()
    saver = ModelCheckpoint(dirpath=checkpoints, save_last=True)  # the same callbacks as before
    trainer = quick_trainer(max_epochs=3, enable_checkpointing=True, callbacks=[recorder, saver])
    trainer.fit(resumed, datamodule=datamodule, ckpt_path=checkpoints / "last.ckpt")
    assert recorder.groups == [["head", "backbone"]]
    assert resumed.net.features[0].weight.requires_grad
    assert not torch.equal(recorder.weights[0], first.net.features[0].weight)


def test_finetune_policies_that_cannot_work_are_config_errors() -> None:
    """The rules config validation runs once per process (the module trusts its arguments)."""
    with pytest.raises(ConfigError, match="model.finetune=head freezes pretrained layers"):
        check_module_options({"finetune": "head"}, pretrained=False)
    with pytest.raises(ConfigError, match="model.finetune='last' is unknown; allowed: full"):
        check_module_options({"finetune": "last"}, pretrained=True)
    with pytest.raises(ConfigError, match="gradual adds a param group .*onecycle cannot take"):
        check_module_options({"finetune": "gradual", "scheduler": "onecycle"}, pretrained=True)


def test_fine_tuned_checkpoints_load_with_weights_only(
    make_cfg, torch_home, cifar10_root, tmp_path: Path
) -> None:
    cfg = make_cfg(
        *SMALL,
        *on_cifar10(cifar10_root),
        "model.pretrained=true",
        "model.finetune=gradual",
        "model.unfreeze_epoch=1",
        "model.scheduler=step",
        "debug=limit",
        "trainer.limit_train_batches=1",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        "logger=csv",
    )
    train(cfg)
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    payload = torch.load(last, weights_only=True, map_location="cpu")
    assert payload["hyper_parameters"]["pretrained"] is True
    assert payload["hyper_parameters"]["input"]["mean"] == [0.485, 0.456, 0.406]
    restored = ImageClassifier.load_from_checkpoint(last, map_location="cpu")
    torch.testing.assert_close(
        restored.net.features[0].weight, payload["state_dict"]["net.features.0.weight"]
    )


@pytest.mark.slow
def test_cli_offline_weights_error_is_one_message_and_exit_code_2(
    tmp_path: Path, mnist_root: Path
) -> None:
    empty_home = tmp_path / "torch_home"
    closed = "http://127.0.0.1:9"  # a closed port: any download attempt fails at once
    result = run_cli(
        "model=alexnet",
        "model.pretrained=true",
        f"paths.data_dir={mnist_root}",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        env={"TORCH_HOME": str(empty_home), "https_proxy": closed, "HTTPS_PROXY": closed},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Traceback" not in output
    assert str(empty_home / "hub" / "checkpoints" / CACHE_NAME) in output
    assert "model.weights_path" in output
    assert not (tmp_path / "run" / "checkpoints").exists()  # failed before training
