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

PADDINGS = ("valid", "same")


def conv_padding(mode: str, kernel_size: int) -> int:
    """Implicit zero padding of a stride-1 convolution for a padding mode.

    Args:
        mode: ``valid`` (no padding: the output shrinks by kernel_size - 1) or ``same``
            (output size equals input size; needs an odd kernel).
        kernel_size: the convolution's kernel size.
    """
    if mode == "valid":
        return 0
    if mode == "same":
        if kernel_size % 2 == 0:
            raise ConfigError(f"padding='same' needs an odd kernel here, got {kernel_size}")
        return kernel_size // 2
    raise ConfigError(f"unknown padding {mode!r}; allowed: {', '.join(PADDINGS)}")


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
