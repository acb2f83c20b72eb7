"""Padding by name (valid, same, zeros, constant, reflect, replicate, circular) and convolutions
that use it.

``padding: same`` in a model config becomes :func:`make_conv` ``(..., padding="same")``: a conv
that pads itself when it can, else ``Sequential(padding, conv)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lightcnn.core.errors import ConfigError

PADDINGS = ("valid", "same", "zeros", "constant", "reflect", "replicate", "circular")


class SamePad2d(nn.Module):
    """Pad so that a following conv or pool of ``kernel_size``/``stride`` outputs ceil(n / stride).

    The amount depends on the input size when stride > 1, so it is computed at each call; an
    odd total is split with the extra pixel on the right/bottom (as TensorFlow's ``SAME``).

    Args:
        kernel_size: the following layer's kernel size.
        stride: the following layer's stride.
        dilation: the following layer's dilation.
        mode: ``constant`` (filled with ``value``), ``reflect``, ``replicate`` or ``circular``.
        value: fill value of ``constant`` mode.
    """

    def __init__(
        self,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        mode: str = "constant",
        value: float = 0.0,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.dilation = dilation
        self.mode = mode
        self.value = value

    def amounts(self, size: int) -> tuple[int, int]:
        """(before, after) padding along an axis of ``size`` pixels."""
        out = math.ceil(size / self.stride)
        total = max((out - 1) * self.stride + self.dilation * (self.kernel_size - 1) + 1 - size, 0)
        return total // 2, total - total // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = self.amounts(x.shape[-2])
        left, right = self.amounts(x.shape[-1])
        value = self.value if self.mode == "constant" else None
        return F.pad(x, (left, right, top, bottom), mode=self.mode, value=value)

    def output_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        c, h, w = shape
        return (c, h + sum(self.amounts(h)), w + sum(self.amounts(w)))

    def extra_repr(self) -> str:
        fill = f", value={self.value}" if self.mode == "constant" else ""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, mode={self.mode}{fill}"


def make_padding(
    padding: str,
    kernel_size: int,
    *,
    stride: int = 1,
    dilation: int = 1,
    value: float = 0.0,
) -> nn.Module:
    """The border a conv or pool of ``kernel_size``/``stride`` needs to output ceil(n / stride).

    Args:
        padding: ``valid`` (none: ``nn.Identity``), ``same`` or ``zeros`` (a zero border),
            ``constant`` (a border of ``value``), ``reflect``, ``replicate`` or ``circular``.
        kernel_size: the following layer's kernel size.
        stride: the following layer's stride.
        dilation: the following layer's dilation.
        value: fill value of ``constant`` padding.
    """
    if padding not in PADDINGS:
        raise ConfigError(f"unknown padding {padding!r}; allowed: {', '.join(PADDINGS)}")
    if padding == "valid":
        return nn.Identity()
    mode = "constant" if padding in ("same", "zeros") else padding
    fill = value if padding == "constant" else 0.0
    if stride > 1:  # the amount depends on the input size
        return SamePad2d(kernel_size, stride, dilation, mode, fill)
    total = dilation * (kernel_size - 1)
    before, after = total // 2, total - total // 2  # an odd total puts the extra pixel after
    amounts = (before, after, before, after)  # left, right, top, bottom
    if mode == "constant":
        return nn.ConstantPad2d(amounts, fill)
    return {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d}.get(
        mode, nn.CircularPad2d
    )(amounts)


def make_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    stride: int = 1,
    padding: str = "valid",
    padding_value: float = 0.0,
    dilation: int = 1,
    groups: int = 1,
) -> nn.Module:
    """A 2-d convolution with a named padding mode.

    Args:
        in_channels: input maps.
        out_channels: output maps.
        kernel_size: square kernel side.
        stride: step of the kernel.
        padding: ``valid`` (no padding: each 5×5 conv shrinks a map by 4), ``same`` or ``zeros``
            (zero border so that the output is ceil(n / stride)), or a border of the same size
            filled by ``constant`` (``padding_value``), ``reflect``, ``replicate`` or
            ``circular`` (see ``make_padding``).
        padding_value: fill value of ``constant`` padding.
        dilation: spacing of the kernel taps.
        groups: grouped convolution.

    Returns:
        The ``nn.Conv2d`` itself when it can pad by itself (valid, or a symmetric zero border),
        else ``nn.Sequential(padding, conv)``.
    """
    pad = make_padding(padding, kernel_size, stride=stride, dilation=dilation, value=padding_value)
    conv = nn.Conv2d(
        in_channels, out_channels, kernel_size, stride, dilation=dilation, groups=groups
    )
    if isinstance(pad, nn.Identity):
        return conv
    if isinstance(pad, nn.ConstantPad2d) and pad.value == 0 and len(set(pad.padding)) == 1:
        conv.padding = (pad.padding[0], pad.padding[0])  # symmetric zeros: the conv does it
        return conv
    return nn.Sequential(pad, conv)
