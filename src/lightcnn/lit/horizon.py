"""What a learning-rate schedule does when a continued run's length changes.

A run continued with more (or fewer) epochs — ``resume=<run dir> trainer.max_epochs=20`` or
``ckpt_path=<file> trainer.max_epochs=20`` — restores its scheduler as it was, planned for the
old number of steps. The two schedules planned over the whole run are re-planned to end at the
new last step; the others need nothing:

- ``none``, ``step`` (×gamma every ``step_size`` epochs) and ``plateau`` (×factor when val/acc
  stalls) have no horizon: they simply go on.
- ``cosine`` and ``onecycle``, still running: the rest of the schedule is stretched (or
  compressed) from the current step to the new last step, starting from the current learning
  rate, so the curve stays continuous — cosine keeps decaying to ``eta_min``; one-cycle keeps
  warming up to its peak at the same fraction (``pct_start``) of the new run, or keeps annealing
  to its final rate.
- ``cosine`` and ``onecycle``, already ended (the rate has reached its floor): a new schedule of
  the same kind runs over the added steps, from the configured rate (a warm restart, as
  fastai's repeated ``fit_one_cycle``) — stretching a finished schedule would train the added
  epochs at its final, near-zero rate.

The re-planned state is the scheduler's own (``total_steps`` and the phases of
``OneCycleLR``, ``T_max`` of ``CosineAnnealingLR``), so it is saved in the next checkpoints and a
later continuation starts from it.
"""

from __future__ import annotations

from collections.abc import Callable

from torch.optim import lr_scheduler

# param-group keys holding the rate and momentum at the step a run was continued from
RESUME_LR = "resume_lr"
RESUME_MOMENTUM = "resume_momentum"


def planned_end(scheduler: lr_scheduler.LRScheduler, global_step: int) -> int | None:
    """The global step a per-step schedule is planned to end at (None: no horizon).

    Args:
        scheduler: the restored scheduler.
        global_step: optimizer steps taken so far.
    """
    start = global_step - scheduler.last_epoch  # the global step the schedule (re)started at
    if isinstance(scheduler, lr_scheduler.OneCycleLR):
        return start + scheduler.total_steps
    if isinstance(scheduler, lr_scheduler.CosineAnnealingLR):
        return start + scheduler.T_max
    return None


def fit_horizon(
    scheduler: lr_scheduler.LRScheduler,
    global_step: int,
    total_steps: int,
    restart: Callable[[int], lr_scheduler.LRScheduler],
) -> str | None:
    """Re-plan ``scheduler`` in place to end at ``total_steps``; say what was done.

    Args:
        scheduler: the scheduler as restored from the checkpoint.
        global_step: optimizer steps taken so far.
        total_steps: optimizer steps of the whole continued run.
        restart: builds a fresh scheduler of the same recipe over a number of steps, on the
            same optimizer (``lit.optim.build_scheduler``).

    Returns:
        A sentence for the log, or None when the schedule already ends at ``total_steps``.
    """
    end = planned_end(scheduler, global_step)
    if end is None or end == total_steps or global_step >= total_steps:
        return None
    remaining = total_steps - global_step
    name = type(scheduler).__name__
    lr = scheduler.optimizer.param_groups[0]["lr"]
    if scheduler.last_epoch == 0 or _ended(scheduler):
        for group in scheduler.optimizer.param_groups:  # back to the configured (peak) rate
            group["lr"] = group.get("max_lr", group["initial_lr"])
        scheduler.load_state_dict(restart(remaining).state_dict())
        return (
            f"{name} had ended (lr {lr:.3g}) at step {global_step}: a new schedule runs over the "
            f"{remaining} added steps, from lr {scheduler.optimizer.param_groups[0]['lr']:.3g}"
        )
    if isinstance(scheduler, lr_scheduler.CosineAnnealingLR):
        # the recursive cosine update continues from the current rate to eta_min at the new T_max
        scheduler.T_max = scheduler.last_epoch + remaining
    else:
        _stretch_one_cycle(scheduler, remaining)
    return (
        f"{name} planned to end at step {end}, now at step {total_steps}: stretched from step "
        f"{global_step} (lr {lr:.3g}) over the remaining {remaining} steps"
    )


def _ended(scheduler: lr_scheduler.LRScheduler) -> bool:
    if isinstance(scheduler, lr_scheduler.OneCycleLR):
        return scheduler.last_epoch >= scheduler.total_steps - 1
    return scheduler.last_epoch >= scheduler.T_max  # type: ignore[attr-defined]


def _stretch_one_cycle(scheduler: lr_scheduler.OneCycleLR, remaining: int) -> None:
    """Phases of ``OneCycleLR`` rescaled to a new length, continuing from the current step.

    The phase under way and those after it keep their fractions of the cycle; the one under way
    continues from the current rate (and momentum), kept in the param groups under ``resume_lr`` /
    ``resume_momentum``. A first phase ending at the current step stands for the steps
    already taken (``OneCycleLR`` finds a step's phase by its end step).
    """
    step = scheduler.last_epoch
    old_total, new_total = scheduler.total_steps, step + remaining
    for group in scheduler.optimizer.param_groups:
        group[RESUME_LR] = group["lr"]
        if scheduler.cycle_momentum:
            group[RESUME_MOMENTUM] = group["betas"][0] if scheduler.use_beta1 else group["momentum"]
    phases = scheduler._schedule_phases
    # the phase under way in the old plan (as OneCycleLR finds it), and those after it
    current = next((i for i, p in enumerate(phases) if step <= p["end_step"]), len(phases) - 1)
    ahead = []
    for phase in phases[current:]:
        end = (phase["end_step"] + 1) * new_total / old_total - 1
        if end > step:  # a compressed run may leave no room for the rest of a phase
            ahead.append({**phase, "end_step": end})
    ahead[-1]["end_step"] = new_total - 1
    ahead[0] = {**ahead[0], "start_lr": RESUME_LR, "start_momentum": RESUME_MOMENTUM}
    done = {
        "end_step": float(step),
        "start_lr": RESUME_LR,
        "end_lr": RESUME_LR,
        "start_momentum": RESUME_MOMENTUM,
        "end_momentum": RESUME_MOMENTUM,
    }
    scheduler._schedule_phases = [done, *ahead]
    scheduler.total_steps = new_total
