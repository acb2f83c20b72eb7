"""Building blocks shared by the models: activations, pooling and padding, by name.

Every factory takes the name a config uses (``pool: min``, ``padding: same``) and returns a fresh
module. The shape arithmetic lives in ``lightcnn.arithmetic``; ``output_size`` and
``layer_output_shape`` are re-exported here for existing callers.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lightcnn.arithmetic import SHAPE_PRESERVING, layer_output_shape, output_size
from lightcnn.errors import ConfigError

# --------------------------------------------------------------------------- activations


class ScaledTanh(nn.Module):
    """LeCun's squashing function f(a) = A·tanh(S·a) with A = 1.7159, S = 2/3 (LeNet-5, 1998)."""

    def __init__(self, amplitude: float = 1.7159, slope: float = 2.0 / 3.0) -> None:
        super().__init__()
        self.amplitude = amplitude
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * x)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape  # element-wise

    def extra_repr(self) -> str:
        return f"amplitude={self.amplitude}, slope={self.slope:.4f}"


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": lambda: nn.ReLU(inplace=True),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "scaled_tanh": ScaledTanh,
}


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module.

    Args:
        name: one of ``relu``, ``tanh``, ``sigmoid``, ``scaled_tanh``.
    """
    return _lookup("activation", name, ACTIVATIONS)()


# --------------------------------------------------------------------------- pooling


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


# --------------------------------------------------------------------------- padding

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


def _lookup(kind: str, name: str, table: dict) -> object:
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"unknown {kind} {name!r}; allowed: {', '.join(table)}") from None


__all__ = [
    "ACTIVATIONS",
    "GLOBAL_POOLS",
    "PADDINGS",
    "POOLS",
    "SHAPE_PRESERVING",
    "MinPool2d",
    "SamePad2d",
    "ScaledTanh",
    "layer_output_shape",
    "make_activation",
    "make_conv",
    "make_padding",
    "make_pool",
    "output_size",
]
