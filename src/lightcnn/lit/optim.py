"""Optimizer and learning-rate scheduler factories, chosen by name in the model config.

Names (not partials or classes) keep the checkpoint's hyperparameters primitive, so every
checkpoint loads with ``torch.load(path, weights_only=True)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch.optim import lr_scheduler

from lightcnn.core.errors import CheckpointError, ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("none", "step", "cosine", "onecycle", "plateau")
# devices with fused optimizer kernels in torch (torch.utils._foreach_utils lists them privately)
FUSED_DEVICES = ("cpu", "cuda", "mps", "xpu", "hpu")


def build_optimizer(
    name: str,
    params: Iterable[Any],
    *,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    nesterov: bool = False,
    fused: bool = False,
) -> torch.optim.Optimizer:
    """Return the optimizer ``name`` over ``params`` (tensors or param-group dicts).

    Args:
        name: ``adam``, ``adamw`` or ``sgd``.
        params: parameters or param groups.
        lr: learning rate.
        weight_decay: L2 penalty (decoupled for AdamW).
        momentum: SGD momentum.
        nesterov: SGD Nesterov momentum.
        fused: use torch's fused implementation (one kernel for all parameters; the same
            update rule). See :func:`can_fuse`.
    """
    # fused=None, not False, leaves torch its own choice (foreach on GPUs)
    implementation = {"fused": True} if fused else {}
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **implementation)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **implementation)
    if name == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
            **implementation,
        )
    raise ConfigError(
        f"model.optimizer={name!r} is not allowed: it must be one of {', '.join(OPTIMIZERS)}"
    )


def can_fuse(params: Iterable[Any], *, scaled_clipping: bool = False) -> bool:
    """Whether the fused optimizer implementation applies to ``params``.

    It needs floating-point parameters on a device with fused kernels (CPU, CUDA, ...). It is
    skipped when gradients are clipped under a GradScaler (``16-mixed``): a fused optimizer
    unscales internally, so Lightning cannot clip first. On a CPU the fused update saves about
    a tenth of a LeNet-5 step (docs/benchmarks.md).

    Args:
        params: parameters or param-group dicts.
        scaled_clipping: gradient clipping under a GradScaler is requested.
    """
    if scaled_clipping:
        return False
    tensors = [p for item in params for p in (item["params"] if isinstance(item, dict) else [item])]
    return bool(tensors) and all(
        p.is_floating_point() and p.device.type in FUSED_DEVICES for p in tensors
    )


class PlannedLR(lr_scheduler.LRScheduler):
    """A per-step schedule as a function of (step, total steps): ``cosine`` and ``onecycle``.

    The rate of each param group is ``floor + (base - floor) × factor(step)``, where ``base`` is
    its configured rate and ``factor`` anneals through phases that end at fixed fractions of
    the total (one-cycle's warm-up ends at ``pct_start``); one-cycle also cycles SGD's momentum
    or Adam's first beta, as torch's ``OneCycleLR`` does, and a fresh schedule gives torch's
    own curves. A continued run of another length re-plans from its current step
    (:meth:`replan`, ``lit/horizon.py``), so only plain numbers change: the state is this
    object's attributes, which ``state_dict`` saves (checkpoints load with
    ``weights_only=True``).

    Args:
        optimizer: the optimizer to schedule.
        total_steps: optimizer steps of the whole run.
        phases: ``[fraction, shift, factor, momentum]`` per phase: it ends at step
            ``fraction × total_steps + shift`` with that factor and momentum (None: momentum
            is not scheduled); after a restart, at that fraction of the steps from the restart.
        start: ``[factor, momentum]`` at step 0.
        floor: the rate a factor of 0 stands for (cosine's ``eta_min``).
        anneal: ``cos`` or ``linear``, between the ends of a phase.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        total_steps: int,
        phases: list[list[float | None]],
        start: list[float | None],
        floor: float = 0.0,
        anneal: str = "cos",
    ) -> None:
        if anneal not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', not {anneal!r}")
        self.total_steps, self.phases, self.floor, self.anneal = total_steps, phases, floor, anneal
        self.first = list(start)
        self.origin = 0  # the step the schedule (re)started at
        # the step, values and phase the plan goes on from
        self.start_step, self.start, self.start_phase = 0, list(start), 0
        super().__init__(optimizer)

    def value(self, step: int, column: int) -> float | None:
        """The factor (``column`` 0) or momentum (1) at ``step``.

        Args:
            step: optimizer steps taken.
            column: 0 or 1.
        """
        begin, level = self.start_step, self.start[column]
        if level is None:
            return None
        last = len(self.phases) - 1
        for i, (fraction, shift, *ends) in enumerate(self.phases):
            end, target = self._end(fraction, shift), ends[column]
            if i < last and (i < self.start_phase or end <= self.start_step):
                continue  # over before the plan starts (a compressed run may skip a phase)
            if step <= end or i == last:
                if end <= begin:
                    return target
                progress = (step - begin) / (end - begin)
                if self.anneal == "linear":
                    return level + (target - level) * progress
                return target + (level - target) / 2 * (math.cos(math.pi * progress) + 1)
            begin, level = end, target
        raise AssertionError("unreachable: the last phase takes every later step")

    def ended(self, step: int) -> bool:
        """Whether ``step`` is at or past the end of the last phase (the rate at its floor).

        Args:
            step: optimizer steps taken.
        """
        fraction, shift, *_ = self.phases[-1]
        return step >= self._end(fraction, shift)

    def replan(self, total_steps: int, *, restart: bool = False) -> None:
        """Plan the steps from now on for a run of ``total_steps``.

        Args:
            total_steps: optimizer steps of the whole (continued) run.
            restart: start the schedule over from its first rate; otherwise go on from the
                current rate and momentum, so the curve stays continuous.
        """
        step, last = self.last_epoch, len(self.phases) - 1
        if restart:
            self.origin, self.start, self.start_phase = step, list(self.first), 0
        else:  # the phase under way goes on, from where it is
            self.start = [self.value(step, 0), self.value(step, 1)]
            self.start_phase = next(
                i
                for i in range(self.start_phase, last + 1)
                if i == last or self._end(*self.phases[i][:2]) > step
            )
        self.start_step, self.total_steps = step, total_steps
        for group, rate in zip(self.optimizer.param_groups, self._rates(step), strict=True):
            group["lr"] = rate

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a saved plan; refuse the state of another scheduler (torch's ``OneCycleLR``
        or ``CosineAnnealingLR``, saved before lightcnn planned these schedules itself), whose
        ``base_lrs`` would silently mean other rates here.

        Args:
            state_dict: what :meth:`state_dict` returned.
        """
        if "start_phase" not in state_dict:
            raise CheckpointError(
                "the checkpoint's learning-rate schedule was saved by another scheduler "
                "(an older lightcnn); continue its weights with init_from=<checkpoint> instead"
            )
        super().load_state_dict(state_dict)

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        for group in self.optimizer.param_groups[len(self.base_lrs) :]:
            # added mid-run (gradual fine-tuning) at the rate of the step before: it follows
            # the same curve from there
            factor = self.value(step - 1, 0) or 1.0
            self.base_lrs.append(self.floor + (group["lr"] - self.floor) / factor)
        return self._rates(step)

    def _end(self, fraction: float, shift: float) -> float:
        return self.origin + fraction * (self.total_steps - self.origin) + shift

    def _rates(self, step: int) -> list[float]:
        """Each group's rate at ``step``; sets the momentum too where it is scheduled."""
        momentum = self.value(step, 1)
        if momentum is not None:
            for group in self.optimizer.param_groups:
                if "betas" in group:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        factor = self.value(step, 0)
        return [self.floor + (base - self.floor) * factor for base in self.base_lrs]


def cosine(*, eta_min: float = 0.0) -> dict[str, Any]:
    """``PlannedLR`` arguments of ``CosineAnnealingLR``'s curve: from the configured rate down
    to ``eta_min`` at the last step.

    Args:
        eta_min: the final rate.
    """
    return {"phases": [[1.0, 0.0, 0.0, None]], "start": [1.0, None], "floor": eta_min}


def one_cycle(
    *,
    pct_start: float = 0.25,
    anneal_strategy: str = "cos",
    cycle_momentum: bool = True,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> dict[str, Any]:
    """``PlannedLR`` arguments of ``OneCycleLR``'s curve (its arguments, the same defaults): from
    ``lr / div_factor`` up to the configured rate at ``pct_start`` of the run, then down to
    ``lr / div_factor / final_div_factor``; the momentum goes the other way.

    Args:
        pct_start: the fraction of the run spent warming up.
        anneal_strategy: ``cos`` or ``linear``.
        cycle_momentum: cycle the momentum (SGD) or first beta (Adam, AdamW).
        base_momentum: the momentum at the peak rate.
        max_momentum: the momentum at the lowest rates.
        div_factor: the configured rate over the first rate.
        final_div_factor: the first rate over the last.
        three_phase: after the peak, anneal back to the first rate, then down to the last.
    """
    if not 0 <= pct_start <= 1:
        raise ValueError(f"pct_start must be in [0, 1], not {pct_start}")
    low, high = (base_momentum, max_momentum) if cycle_momentum else (None, None)
    initial, final = 1 / div_factor, 1 / div_factor / final_div_factor
    if three_phase:
        phases = [
            [pct_start, -1, 1.0, low],
            [2 * pct_start, -2, initial, high],
            [1, -1, final, high],
        ]
    else:
        phases = [[pct_start, -1, 1.0, low], [1, -1, final, high]]
    return {"phases": phases, "start": [initial, high], "anneal": anneal_strategy}


def build_scheduler(
    name: str,
    optimizer: torch.optim.Optimizer,
    *,
    total_steps: int,
    max_epochs: int,
    **kwargs: Any,
) -> dict[str, Any] | None:
    """Return a Lightning ``lr_scheduler`` config dict, or None for ``none``.

    Args:
        name: ``none``, ``step`` (×gamma every step_size epochs, default a third of the run),
            ``cosine`` (per batch down to eta_min), ``onecycle`` (per batch, peak at the
            optimizer's lr after pct_start of the run), ``plateau`` (×factor when val/acc has
            not improved for patience epochs).
        optimizer: the optimizer to schedule.
        total_steps: optimizer steps in the whole run (``trainer.estimated_stepping_batches``).
        max_epochs: epochs in the whole run.
        **kwargs: overrides of the scheduler's own arguments (``model.scheduler_kwargs``):
            ``StepLR``'s, ``ReduceLROnPlateau``'s, ``eta_min`` for ``cosine`` and the shape of
            ``OneCycleLR`` for ``onecycle`` (the length and peak are the run's).
    """
    if name not in SCHEDULERS:
        raise ConfigError(
            f"model.scheduler={name!r} is not allowed: it must be one of {', '.join(SCHEDULERS)}"
        )
    if name == "none":
        return None
    steps = max(1, total_steps)
    if name == "onecycle":
        # a warm-up that ends at step 0 or before (pct_start × steps <= 1, e.g. 4 steps at
        # 0.25) would never reach the peak: a run that short warms up over one and a half steps
        pct_start = kwargs.get("pct_start", 0.25)
        if pct_start * steps <= 1:
            kwargs = {**kwargs, "pct_start": min(1.5, steps - 0.5) / steps}
    build = {
        "step": lambda: lr_scheduler.StepLR(
            optimizer, **({"step_size": max(1, max_epochs // 3), "gamma": 0.1} | kwargs)
        ),
        "cosine": lambda: PlannedLR(optimizer, steps, **cosine(**kwargs)),
        "onecycle": lambda: PlannedLR(optimizer, steps, **one_cycle(**kwargs)),
        "plateau": lambda: lr_scheduler.ReduceLROnPlateau(
            optimizer, **({"mode": "max", "factor": 0.1, "patience": 2} | kwargs)
        ),
    }[name]
    try:
        scheduler = build()
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"model.scheduler_kwargs={dict(kwargs)} do not fit model.scheduler={name}: {error}"
        ) from None
    if name == "plateau":
        return {"scheduler": scheduler, "interval": "epoch", "monitor": "val/acc"}
    return {"scheduler": scheduler, "interval": "epoch" if name == "step" else "step"}
