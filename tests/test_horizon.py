"""What each LR schedule does when a continued run gets more (or fewer) steps (lit/horizon.py),
step by step (tests/test_optim.py checks that a fresh schedule gives torch's own curve)."""

from __future__ import annotations

import io
import itertools

import pytest
import torch

from lightcnn.core.errors import CheckpointError
from lightcnn.lit.horizon import fit_horizon
from lightcnn.lit.optim import build_optimizer, build_scheduler

PEAK = 0.004


def make(name: str, total: int, groups: tuple[float, ...] = (PEAK,)):
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in groups]
    optimizer = build_optimizer("adamw", params, lr=PEAK)
    return build_scheduler(name, optimizer, total_steps=total, max_epochs=3)["scheduler"]


def run(scheduler, steps: int) -> list[float]:
    """The rate of each of ``steps`` optimizer steps, as Lightning steps a per-step schedule."""
    rates = []
    for _ in range(steps):
        rates.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return rates


def extend(scheduler, total: int) -> str | None:
    """What ``on_train_start`` does when a continued run has ``total`` steps."""
    return fit_horizon(scheduler, total)


def largest_step(rates: list[float]) -> float:
    return max(abs(b - a) for a, b in itertools.pairwise(rates))


def assert_continuous(name: str, rates: list[float]) -> None:
    """No step of the continued curve is larger than the largest of the uninterrupted one."""
    assert largest_step(rates) <= largest_step(run(make(name, 100), 100)) * 1.01


@pytest.mark.parametrize("done", [10, 40], ids=["in warm-up", "annealing"])
def test_onecycle_stretched_from_where_it_is_to_the_new_end(done: int) -> None:
    scheduler = make("onecycle", 100)
    before = run(scheduler, done)
    note = extend(scheduler, 200)
    assert note and "stretched" in note
    after = run(scheduler, 200 - done)  # no "Tried to step 101 times"
    rates = before + after
    assert_continuous("onecycle", rates)
    assert max(rates) == pytest.approx(PEAK, rel=1e-3)
    peak_step = rates.index(max(rates))
    if done < 25:  # the peak moves to pct_start of the new run
        assert abs(peak_step - 0.25 * 200) <= 1
    assert all(a >= b for a, b in zip(rates[peak_step:], rates[peak_step + 1 :], strict=False))
    assert rates[-1] == pytest.approx(PEAK / 25 / 1e4, rel=1e-6)  # ends at its final rate


def test_onecycle_momentum_stays_continuous_too() -> None:
    scheduler = make("onecycle", 100)
    beta = lambda: scheduler.optimizer.param_groups[0]["betas"][0]  # noqa: E731
    betas = []
    for _ in range(40):
        betas.append(beta())
        scheduler.optimizer.step()
        scheduler.step()
    extend(scheduler, 200)
    scheduler.optimizer.step()
    scheduler.step()
    assert abs(beta() - betas[-1]) <= max(abs(a - b) for a, b in itertools.pairwise(betas)) * 1.01


def test_cosine_stretched_keeps_decaying_to_eta_min() -> None:
    scheduler = make("cosine", 100)
    before = run(scheduler, 40)
    assert "stretched" in extend(scheduler, 200)
    after = run(scheduler, 160)
    assert_continuous("cosine", before + after)
    assert all(a >= b for a, b in itertools.pairwise(after))
    assert after[-1] < PEAK / 1e4  # the last step runs at about eta_min


@pytest.mark.parametrize("name", ["onecycle", "cosine"])
def test_an_ended_schedule_restarts_over_the_added_steps(name: str) -> None:
    scheduler = make(name, 100)
    run(scheduler, 100)
    ended = scheduler.optimizer.param_groups[0]["lr"]
    assert ended < PEAK / 1000
    note = extend(scheduler, 150)
    assert note and "new schedule" in note
    after = run(scheduler, 50)
    assert max(after) == pytest.approx(PEAK, rel=1e-3)  # it trains again at the configured rate
    assert after[-1] < PEAK / 1000  # and ends at its floor


def test_a_shorter_run_compresses_the_rest() -> None:
    scheduler = make("onecycle", 100)
    before = run(scheduler, 40)
    extend(scheduler, 60)
    after = run(scheduler, 20)
    assert all(a >= b for a, b in zip(before[-1:] + after, after, strict=False))
    assert after[-1] == pytest.approx(PEAK / 25 / 1e4, rel=1e-6)


@pytest.mark.parametrize("name", ["none", "step", "plateau"])
def test_schedules_without_a_horizon_go_on_unchanged(name: str) -> None:
    params = [torch.nn.Parameter(torch.zeros(1))]
    optimizer = build_optimizer("adamw", params, lr=PEAK)
    built = build_scheduler(name, optimizer, total_steps=100, max_epochs=3)
    if built is not None:
        assert extend(built["scheduler"], 200) is None


def test_the_same_length_changes_nothing() -> None:
    scheduler = make("onecycle", 100)
    run(scheduler, 40)
    state = scheduler.state_dict()
    assert extend(scheduler, 100) is None
    assert scheduler.state_dict() == state


def test_param_groups_keep_their_own_rates() -> None:
    """Fine-tuning's backbone group (a tenth of the head's rate) is stretched in proportion."""
    scheduler = make("onecycle", 100, groups=(PEAK, PEAK / 10))
    run(scheduler, 40)
    extend(scheduler, 200)
    run(scheduler, 80)
    head, backbone = (group["lr"] for group in scheduler.optimizer.param_groups)
    assert backbone == pytest.approx(head / 10, rel=1e-6)


def test_the_replanned_schedule_survives_a_weights_only_checkpoint() -> None:
    scheduler = make("onecycle", 100)
    run(scheduler, 40)
    extend(scheduler, 200)
    buffer = io.BytesIO()
    torch.save(
        {"scheduler": scheduler.state_dict(), "optimizer": scheduler.optimizer.state_dict()},
        buffer,
    )
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    # what a resumed run does: build for the configured length, then load the saved state
    restored = make("onecycle", 100)
    restored.optimizer.load_state_dict(saved["optimizer"])
    restored.load_state_dict(saved["scheduler"])
    assert run(restored, 160) == run(scheduler, 160)


def test_the_state_of_another_scheduler_is_refused() -> None:
    """A checkpoint of an older lightcnn holds torch's OneCycleLR state: its base rates are
    the warm-up's first rate, which would silently train at a 25th of the peak here."""
    optimizer = build_optimizer("adamw", [torch.nn.Parameter(torch.zeros(1))], lr=PEAK)
    old = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=PEAK, total_steps=100)
    with pytest.raises(CheckpointError, match="saved by another scheduler.*init_from="):
        make("onecycle", 100).load_state_dict(old.state_dict())
