"""Building blocks shared by the models: activations, pooling, padding and shape arithmetic.

The output-size arithmetic here sizes every model's first fully connected layer, so any
pooling / padding / input-size combination builds without hand-written constants.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

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


class MinPool2d(nn.Module):
    """Min pooling: ``-maxpool(-x)``; keeps the darkest value of each window."""

    def __init__(
        self,
        kernel_size: int,
        stride: int | None = None,
        padding: int = 0,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride or kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -F.max_pool2d(
            -x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"ceil_mode={self.ceil_mode}"
        )


POOLS = ("max", "avg", "min")


def make_pool(
    kind: str,
    kernel_size: int = 2,
    stride: int | None = None,
    padding: int = 0,
    ceil_mode: bool = False,
) -> nn.Module:
    """Return a 2-d pooling layer.

    Args:
        kind: ``max``, ``avg`` or ``min``.
        kernel_size: window size.
        stride: step between windows; defaults to ``kernel_size`` (non-overlapping).
        padding: implicit padding on each side (max pads with -inf, avg with zeros).
        ceil_mode: round the output size up instead of down.
    """
    stride = stride or kernel_size
    if kind == "max":
        return nn.MaxPool2d(kernel_size, stride, padding, ceil_mode=ceil_mode)
    if kind == "avg":
        return nn.AvgPool2d(kernel_size, stride, padding, ceil_mode=ceil_mode)
    if kind == "min":
        return MinPool2d(kernel_size, stride, padding, ceil_mode=ceil_mode)
    raise ConfigError(f"unknown pool {kind!r}; allowed: {', '.join(POOLS)}")


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
            ``circular``.
        padding_value: fill value of ``constant`` padding.
        dilation: spacing of the kernel taps.
        groups: grouped convolution.
    """
    if padding not in PADDINGS:
        raise ConfigError(f"unknown padding {padding!r}; allowed: {', '.join(PADDINGS)}")
    conv = nn.Conv2d(
        in_channels, out_channels, kernel_size, stride, dilation=dilation, groups=groups
    )
    if padding == "valid":
        return conv
    total = dilation * (kernel_size - 1)
    if padding in ("same", "zeros") and stride == 1 and total % 2 == 0:
        conv.padding = (total // 2, total // 2)  # symmetric zero padding: let the conv do it
        return conv
    mode = "constant" if padding in ("same", "zeros") else padding
    value = padding_value if padding == "constant" else 0.0
    return nn.Sequential(SamePad2d(kernel_size, stride, dilation, mode, value), conv)


# --------------------------------------------------------------------------- arithmetic


def output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Spatial output size of a convolution or pooling window along one axis.

    ``floor((n + 2p - d(k-1) - 1) / s) + 1``, or ``ceil`` with ``ceil_mode`` (where, as in
    PyTorch, the last window must start inside the input or its left padding).

    Args:
        size: input size n.
        kernel_size: k.
        stride: s.
        padding: p, added on both sides.
        dilation: d.
        ceil_mode: round up instead of down (pooling only).
    """
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if ceil_mode:
        out = math.ceil(span / stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
    else:
        out = span // stride + 1
    return out


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def layer_output_shape(layer: nn.Module, shape: tuple[int, int, int]) -> tuple[int, ...]:
    """Output shape (C, H, W) — or (features,) after a flatten — of one layer.

    Args:
        layer: a conv, pooling, padding, flatten, linear or shape-preserving layer, or a
            Sequential of them, or any module with an ``output_shape(shape)`` method.
        shape: input shape without the batch dimension.
    """
    if hasattr(layer, "output_shape"):
        return tuple(layer.output_shape(shape))
    if isinstance(layer, nn.Sequential):
        for child in layer:
            shape = layer_output_shape(child, shape)
        return shape
    if isinstance(layer, nn.Conv2d):
        c, h, w = shape
        if isinstance(layer.padding, str):
            raise ConfigError("string conv padding is not supported; use an integer padding")
        k, s, p, d = (
            _pair(v) for v in (layer.kernel_size, layer.stride, layer.padding, layer.dilation)
        )
        return (
            layer.out_channels,
            output_size(h, k[0], s[0], p[0], d[0]),
            output_size(w, k[1], s[1], p[1], d[1]),
        )
    if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d, MinPool2d)):
        c, h, w = shape
        k, s, p = (_pair(v) for v in (layer.kernel_size, layer.stride, layer.padding))
        d = _pair(getattr(layer, "dilation", 1))
        ceil = layer.ceil_mode
        return (
            c,
            output_size(h, k[0], s[0], p[0], d[0], ceil),
            output_size(w, k[1], s[1], p[1], d[1], ceil),
        )
    if isinstance(layer, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        h, w = _pair(layer.output_size)
        return (shape[0], h or shape[1], w or shape[2])
    if isinstance(layer, nn.Flatten):
        return (math.prod(shape),)
    if isinstance(layer, nn.Linear):
        return (layer.out_features,)
    if isinstance(layer, SHAPE_PRESERVING):
        return shape
    raise TypeError(f"no output-size rule for {type(layer).__name__}")


SHAPE_PRESERVING = (
    nn.ReLU,
    nn.Tanh,
    nn.Sigmoid,
    ScaledTanh,
    nn.Dropout,
    nn.BatchNorm2d,
    nn.LocalResponseNorm,
    nn.Identity,
)


def _lookup(kind: str, name: str, table: dict) -> object:
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"unknown {kind} {name!r}; allowed: {', '.join(table)}") from None
