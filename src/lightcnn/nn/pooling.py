"""Pooling layers by name: max, average, min (``-maxpool(-x)``), power-average and global.

``pool: min`` in a model config becomes :func:`make_pool` ``("min", 2)``; the shape arithmetic
of every kind is in :mod:`lightcnn.nn.arithmetic`.
"""

from __future__ import annotations

import torch
from torch import nn

from lightcnn.core.errors import ConfigError


class MinPool2d(nn.MaxPool2d):
    """Min pooling: ``-maxpool(-x)``; keeps the darkest value of each window.

    A subclass of ``nn.MaxPool2d`` so that it shares its arguments, checks and shape rule;
    padded positions never win (max pooling pads with -inf, so the negation pads with +inf).

    Args:
        kernel_size: window size.
        stride: step between windows; defaults to ``kernel_size``.
        padding: implicit padding on each side.
        dilation: spacing of the window taps.
        ceil_mode: round the output size up instead of down.
    """

    def __init__(
        self,
        kernel_size: int,
        stride: int | None = None,
        padding: int = 0,
        dilation: int = 1,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -super().forward(-x)


# Pools that slide a window: usable anywhere in a feature stack.
POOLS = ("max", "avg", "min", "lp")
# Pools over the whole map (output 1×1): heads, not inner layers.
GLOBAL_POOLS = ("global_avg", "global_max")


def make_pool(
    kind: str,
    kernel_size: int = 2,
    stride: int | None = None,
    padding: int = 0,
    ceil_mode: bool = False,
    *,
    norm_type: float = 2.0,
) -> nn.Module:
    """Return a 2-d pooling layer.

    Args:
        kind: ``max``, ``avg``, ``min``, ``lp`` (power average ``(Σ x^p)^(1/p)``, see
            ``nn.LPPool2d``), ``global_avg`` or ``global_max`` (one value per map; the window
            arguments are ignored).
        kernel_size: window size.
        stride: step between windows; defaults to ``kernel_size`` (non-overlapping).
        padding: implicit padding on each side, at most ``kernel_size // 2`` (max and min never
            pick a padded position; avg and lp count it as zero).
        ceil_mode: round the output size up instead of down.
        norm_type: the power p of ``lp`` pooling.
    """
    if kind not in POOLS + GLOBAL_POOLS:
        raise ConfigError(f"unknown pool {kind!r}; allowed: {', '.join(POOLS + GLOBAL_POOLS)}")
    if kind == "global_avg":
        return nn.AdaptiveAvgPool2d(1)
    if kind == "global_max":
        return nn.AdaptiveMaxPool2d(1)
    if not 0 <= padding <= kernel_size // 2:
        raise ConfigError(
            f"pool padding={padding} is not allowed for kernel_size={kernel_size}; "
            f"allowed: 0 to {kernel_size // 2} (half the kernel)"
        )
    stride = stride or kernel_size
    if kind == "max":
        return nn.MaxPool2d(kernel_size, stride, padding, ceil_mode=ceil_mode)
    if kind == "avg":
        return nn.AvgPool2d(kernel_size, stride, padding, ceil_mode=ceil_mode)
    if kind == "min":
        return MinPool2d(kernel_size, stride, padding, ceil_mode=ceil_mode)
    lp = nn.LPPool2d(norm_type, kernel_size, stride, ceil_mode=ceil_mode)
    # nn.LPPool2d has no padding argument: pad with zeros first (adds nothing to Σ x^p).
    return nn.Sequential(nn.ZeroPad2d(padding), lp) if padding else lp
