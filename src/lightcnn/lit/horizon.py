"""What a learning-rate schedule does when a continued run's length changes.

A run continued with more (or fewer) epochs — ``resume=<run dir> trainer.max_epochs=20`` or
``ckpt_path=<file> trainer.max_epochs=20`` — restores its scheduler as it was, planned for the
old number of steps. At the start of training the two schedules planned over the whole run are
re-planned to end at the new last step (``trainer.estimated_stepping_batches``); the others
need nothing:

- ``none``, ``step`` (×gamma every ``step_size`` epochs) and ``plateau`` (×factor when val/acc
  stalls) have no horizon: they simply go on.
- ``cosine`` and ``onecycle``, still running: the rest of the schedule is stretched (or
  compressed) from the current step to the new last step, starting from the current learning
  rate, so the curve stays continuous — cosine keeps decaying to ``eta_min``; one-cycle keeps
  warming up to its peak at the same fraction (``pct_start``) of the new run, or keeps annealing
  to its final rate.
- ``cosine`` and ``onecycle``, already ended (the rate has reached its floor): a new schedule of
  the same kind runs over the added steps, from its first rate (a warm restart, as fastai's
  repeated ``fit_one_cycle``) — stretching a finished schedule would train the added epochs at
  its final, near-zero rate.

Both are functions of (step, total steps) (:class:`~lightcnn.lit.optim.PlannedLR`): re-planning
changes the total and the point the plan starts from, plain numbers in the scheduler's state,
so the next checkpoints carry them and a later continuation starts from them.
"""

from __future__ import annotations

from torch.optim import lr_scheduler

from lightcnn.lit.optim import PlannedLR


def fit_horizon(scheduler: lr_scheduler.LRScheduler, total_steps: int) -> str | None:
    """Re-plan ``scheduler`` in place to end at ``total_steps``; say what was done.

    Args:
        scheduler: the scheduler as restored from the checkpoint.
        total_steps: optimizer steps of the whole continued run.

    Returns:
        A sentence for the log, or None when nothing changed (no horizon, or the schedule
        already ends at ``total_steps``).
    """
    if not isinstance(scheduler, PlannedLR):
        return None
    step, planned = scheduler.last_epoch, scheduler.total_steps
    if planned == total_steps or step >= total_steps:
        return None
    remaining = total_steps - step
    lr = scheduler.optimizer.param_groups[0]["lr"]
    if step == 0 or scheduler.ended(step):
        scheduler.replan(total_steps, restart=True)
        return (
            f"the schedule had ended (lr {lr:.3g}) at step {step}: a new schedule runs over the "
            f"{remaining} added steps, from lr {scheduler.optimizer.param_groups[0]['lr']:.3g}"
        )
    scheduler.replan(total_steps)
    return (
        f"the schedule planned to end at step {planned}, now at step {total_steps}: stretched "
        f"from step {step} (lr {lr:.3g}) over the remaining {remaining} steps"
    )
