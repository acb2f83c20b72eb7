"""Optimizer and scheduler factories chosen by name."""

from __future__ import annotations

import pytest
import torch
from torch.optim import lr_scheduler

from lightcnn.core.errors import ConfigError
from lightcnn.lit.optim import OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler, can_fuse


def params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(3))]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_builds_with_its_lr(name: str) -> None:
    optimizer = build_optimizer(name, params(), lr=0.05, weight_decay=1e-4)
    assert optimizer.param_groups[0]["lr"] == 0.05
    assert optimizer.param_groups[0]["weight_decay"] == 1e-4


def test_sgd_takes_momentum_and_nesterov() -> None:
    optimizer = build_optimizer("sgd", params(), lr=0.1, momentum=0.8, nesterov=True)
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["momentum"] == 0.8
    assert optimizer.param_groups[0]["nesterov"] is True


@pytest.mark.parametrize("name", SCHEDULERS)
def test_each_scheduler_builds(name: str) -> None:
    optimizer = build_optimizer("sgd", params(), lr=0.1)
    config = build_scheduler(name, optimizer, total_steps=100, max_epochs=10)
    if name == "none":
        assert config is None
        return
    assert config["interval"] == ("step" if name in ("cosine", "onecycle") else "epoch")
    if name == "plateau":
        assert config["monitor"] == "val/acc"


def test_onecycle_peaks_at_the_configured_lr_and_cosine_ends_at_zero() -> None:
    optimizer = build_optimizer("sgd", params(), lr=0.1)
    scheduler = build_scheduler("onecycle", optimizer, total_steps=100, max_epochs=1)["scheduler"]
    rates = []
    for _ in range(100):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert max(rates) == pytest.approx(0.1, rel=1e-3)
    optimizer = build_optimizer("sgd", params(), lr=0.1)
    scheduler = build_scheduler("cosine", optimizer, total_steps=50, max_epochs=1)["scheduler"]
    for _ in range(50):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-9)


PEAKS = [0.004, 0.0004]


def two_groups() -> list[dict]:
    """A head at the configured rate and a backbone at a tenth of it, as fine-tuning has."""
    return [{"params": params(), "lr": lr} for lr in PEAKS]


def momentum(group: dict) -> float:
    return group["betas"][0] if "betas" in group else group["momentum"]


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
@pytest.mark.parametrize(
    ("name", "kwargs", "torch_scheduler"),
    [
        ("onecycle", {}, lambda o: lr_scheduler.OneCycleLR(o, PEAKS, 90, pct_start=0.25)),
        (
            "onecycle",
            {"three_phase": True, "anneal_strategy": "linear", "div_factor": 10.0},
            lambda o: lr_scheduler.OneCycleLR(
                o,
                PEAKS,
                90,
                pct_start=0.25,
                anneal_strategy="linear",
                div_factor=10.0,
                three_phase=True,
            ),
        ),
        ("cosine", {"eta_min": 1e-5}, lambda o: lr_scheduler.CosineAnnealingLR(o, 90, 1e-5)),
    ],
    ids=["onecycle", "onecycle-three-phase-linear", "cosine"],
)
def test_planned_schedules_give_torchs_own_curves(
    optimizer: str, name: str, kwargs: dict, torch_scheduler
) -> None:
    """Rate of every group and momentum (one-cycle cycles SGD's momentum, Adam's beta1)."""
    ours = build_optimizer(optimizer, two_groups(), lr=0.004)
    planned = build_scheduler(name, ours, total_steps=90, max_epochs=1, **kwargs)["scheduler"]
    theirs = build_optimizer(optimizer, two_groups(), lr=0.004)
    reference = torch_scheduler(theirs)
    for _ in range(90):
        for mine, torchs in zip(ours.param_groups, theirs.param_groups, strict=True):
            assert mine["lr"] == pytest.approx(torchs["lr"], rel=1e-9)
            assert momentum(mine) == pytest.approx(momentum(torchs), rel=1e-9)
        for step in (ours.step, planned.step, theirs.step, reference.step):
            step()


def test_a_group_added_mid_run_follows_the_curve_from_its_own_rate() -> None:
    """Gradual fine-tuning adds the backbone's group at a tenth of the head's current rate."""
    optimizer = build_optimizer("adamw", params(), lr=0.004)
    scheduler = build_scheduler("cosine", optimizer, total_steps=100, max_epochs=2)["scheduler"]
    for _ in range(50):
        optimizer.step()
        scheduler.step()
    head = optimizer.param_groups[0]
    optimizer.add_param_group({"params": params(), "lr": head["lr"] / 10})
    for _ in range(30):
        optimizer.step()
        scheduler.step()
        assert optimizer.param_groups[1]["lr"] == pytest.approx(head["lr"] / 10, rel=1e-9)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("cosine", {"T_max": 5}), ("onecycle", {"epochs": 5}), ("onecycle", {"max_lr": 1.0})],
)
def test_the_length_and_peak_of_a_planned_schedule_are_the_runs(name: str, kwargs: dict) -> None:
    optimizer = build_optimizer("sgd", params(), lr=0.1)
    with pytest.raises(ConfigError, match=f"model.scheduler_kwargs=.* do not fit .*={name}"):
        build_scheduler(name, optimizer, total_steps=10, max_epochs=1, **kwargs)


def test_unknown_names_list_the_allowed_ones() -> None:
    allowed = "model.optimizer='rmsprop' is not allowed: it must be one of adam, adamw, sgd"
    with pytest.raises(ConfigError, match=allowed):
        build_optimizer("rmsprop", params(), lr=0.1)
    optimizer = build_optimizer("sgd", params(), lr=0.1)
    with pytest.raises(ConfigError, match="model.scheduler='poly'"):
        build_scheduler("poly", optimizer, total_steps=10, max_epochs=1)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_fused_optimizers_take_the_same_steps_as_the_default_ones(name: str) -> None:
    torch.manual_seed(0)
    start, grads = torch.randn(5), [torch.randn(5) for _ in range(3)]
    results = []
    for fused in (False, True):
        weight = torch.nn.Parameter(start.clone())
        optimizer = build_optimizer(name, [weight], lr=0.1, weight_decay=0.01, fused=fused)
        assert optimizer.param_groups[0]["fused"] is (True if fused else None)
        for grad in grads:
            weight.grad = grad.clone()
            optimizer.step()
        results.append(weight.detach())
    torch.testing.assert_close(results[1], results[0])


def test_fusing_needs_floating_point_parameters_and_no_clipping_under_a_grad_scaler() -> None:
    assert can_fuse(params())
    assert can_fuse([{"params": params(), "name": "head"}])
    assert not can_fuse(params(), scaled_clipping=True)
    assert not can_fuse([torch.nn.Parameter(torch.zeros(3, device="meta"))])
    assert not can_fuse([torch.zeros(3, dtype=torch.long)])
    assert not can_fuse([])


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 8])
def test_onecycle_runs_every_step_of_a_very_short_run(steps: int) -> None:
    """torch's OneCycleLR divides by zero when pct_start × steps = 1 (4 steps at 0.25)."""
    optimizer = build_optimizer("adamw", params(), lr=0.1)
    scheduler = build_scheduler("onecycle", optimizer, total_steps=steps, max_epochs=1)
    for _ in range(steps):
        optimizer.step()
        scheduler["scheduler"].step()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"optimizer": "rmsprop"}, ConfigError, "model.optimizer='rmsprop' is not allowed"),
        ({"scheduler": "poly"}, ConfigError, "model.scheduler='poly' is not allowed"),
        ({"lr": -1.0}, ValueError, "Invalid learning rate: -1.0"),
        ({"finetune": "head"}, ConfigError, "model.finetune=head freezes pretrained layers"),
        ({"finetune": "half"}, ConfigError, "model.finetune='half' is unknown"),
    ],
)
def test_a_module_built_from_python_with_a_bad_option_fails_when_it_trains(
    options: dict, error: type[Exception], message: str
) -> None:
    """The constructor trusts its arguments (config validation checks them once); the optimizer
    and scheduler names are still refused where they are built, a fine-tuning policy where its
    callback would be."""
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    from lightcnn.lit import ImageClassifier

    model = ImageClassifier(**options)  # no optimizer is built here
    data = DataLoader(TensorDataset(torch.randn(4, 1, 28, 28), torch.randint(0, 10, (4,))))
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with pytest.raises(error, match=message):
        trainer.fit(model, data, data)
