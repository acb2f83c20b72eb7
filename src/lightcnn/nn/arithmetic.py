"""Shape arithmetic of conv / pooling / padding stacks: output sizes, receptive field, jump.

The rules read a layer's own hyperparameters (kernel, stride, padding, dilation, ceil_mode), so
a model can size its first fully connected layer before it ever sees an image. They cover
PyTorch's layers; a custom layer takes part by defining ``output_shape(shape)`` and, if it
slides a window, ``receptive_window() -> (kernel_size, stride)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from torch import nn

# Layers whose conv / pooling window the rules read from ``kernel_size``, ``stride``, ...
WINDOWED = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.LPPool2d)
ADAPTIVE = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
PADS = (nn.ZeroPad2d, nn.ConstantPad2d, nn.ReflectionPad2d, nn.ReplicationPad2d, nn.CircularPad2d)
SHAPE_PRESERVING = (
    nn.ReLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.Dropout,
    nn.BatchNorm2d,
    nn.LocalResponseNorm,
    nn.Identity,
)


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


@dataclass(frozen=True)
class Window:
    """The sliding window of a conv or pooling layer (per axis: height, width)."""

    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    ceil_mode: bool


def window(layer: nn.Module) -> Window | None:
    """The window of a conv or (non-adaptive) pooling layer, or None for any other layer.

    Args:
        layer: any module.
    """
    if not isinstance(layer, WINDOWED):
        return None
    padding = getattr(layer, "padding", 0)
    if padding == "valid":
        padding = 0
    elif padding == "same":  # nn.Conv2d(padding="same"): stride 1, output size = input size
        k, d = _pair(layer.kernel_size), _pair(layer.dilation)
        padding = tuple(di * (ki - 1) // 2 for ki, di in zip(k, d, strict=True))
    kernel = _pair(layer.kernel_size)
    return Window(
        kernel_size=kernel,
        stride=_pair(layer.stride or kernel),  # LPPool2d keeps stride=None: non-overlapping
        padding=_pair(padding),
        dilation=_pair(getattr(layer, "dilation", 1)),
        ceil_mode=bool(getattr(layer, "ceil_mode", False)),
    )


def is_sliding_window(layer: nn.Module) -> bool:
    """Whether ``layer`` is a convolution or pooling layer (the maps worth looking at)."""
    return (
        window(layer) is not None
        or isinstance(layer, ADAPTIVE)
        or hasattr(layer, "receptive_window")
    )


def layer_output_shape(layer: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Output shape (C, H, W) — or (features,) after a flatten or linear layer — of one layer.

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
    if (geometry := window(layer)) is not None:
        c, h, w = shape
        if isinstance(layer, nn.Conv2d) and layer.padding == "same":
            return (layer.out_channels, h, w)
        sizes = (
            output_size(n, k, s, p, d, geometry.ceil_mode)
            for n, k, s, p, d in zip(
                (h, w),
                geometry.kernel_size,
                geometry.stride,
                geometry.padding,
                geometry.dilation,
                strict=True,
            )
        )
        return (getattr(layer, "out_channels", c), *sizes)
    if isinstance(layer, ADAPTIVE):
        h, w = _pair(layer.output_size)
        return (shape[0], h or shape[1], w or shape[2])
    if isinstance(layer, PADS):
        c, h, w = shape
        left, right, top, bottom = layer.padding
        return (c, h + top + bottom, w + left + right)
    if isinstance(layer, nn.Flatten):
        return (math.prod(shape),)
    if isinstance(layer, nn.Linear):
        return (layer.out_features,)
    if isinstance(layer, SHAPE_PRESERVING):
        return shape
    raise TypeError(f"no output-size rule for {type(layer).__name__}")


@dataclass(frozen=True)
class Field:
    """What one unit of a layer sees of the input image (along the height axis).

    Attributes:
        size: receptive field, in input pixels (padding included, so it may exceed the image).
        jump: distance in input pixels between neighbouring units (the stack's total stride).
    """

    size: int = 1
    jump: int = 1


def next_field(layer: nn.Module, shape: tuple[int, ...], field: Field) -> Field:
    """The receptive field after ``layer``, from the field of its input.

    ``r_out = r_in + (k_eff - 1) * j_in`` and ``j_out = j_in * s`` with ``k_eff = d(k-1) + 1``.
    A global pool or a linear layer over a map sees all of it. Adaptive pools that neither keep
    the size nor pool globally are approximated by their largest window.

    Args:
        layer: a layer (or Sequential) that ``layer_output_shape`` knows.
        shape: the layer's input shape (C, H, W) or (features,).
        field: the receptive field of the layer's input units.
    """
    if isinstance(layer, nn.Sequential):
        for child in layer:
            field = next_field(child, shape, field)
            shape = layer_output_shape(child, shape)
        return field
    if (geometry := window(layer)) is not None:
        kernel, stride = (
            geometry.dilation[0] * (geometry.kernel_size[0] - 1) + 1,
            geometry.stride[0],
        )
    elif hasattr(layer, "receptive_window"):
        kernel, stride = layer.receptive_window()
    elif isinstance(layer, ADAPTIVE) and len(shape) == 3:
        kernel, stride = _adaptive_window(shape[1], _pair(layer.output_size)[0] or shape[1])
    elif isinstance(layer, nn.Linear | nn.Flatten) and len(shape) == 3:
        kernel, stride = shape[1], shape[1]  # one unit over the whole map
    else:
        return field  # element-wise, padding (shifts the field, keeps its size), 1-d layers
    return Field(field.size + (kernel - 1) * field.jump, field.jump * stride)


def _adaptive_window(size: int, out: int) -> tuple[int, int]:
    """(largest window, stride) of an adaptive pool from ``size`` to ``out`` along one axis."""
    if out == 1:
        return size, size
    largest = max(math.ceil((i + 1) * size / out) - math.floor(i * size / out) for i in range(out))
    return largest, max(1, size // out)


def receptive_field(layers: nn.Module | Iterable[nn.Module], shape: tuple[int, int, int]) -> Field:
    """Receptive field and jump of the last unit of a stack of layers.

    Args:
        layers: a module (e.g. a model's ``features`` Sequential) or layers in call order.
        shape: the input shape (C, H, W).
    """
    field = Field()
    for layer in [layers] if isinstance(layers, nn.Module) else layers:
        field = next_field(layer, shape, field)
        shape = layer_output_shape(layer, shape)
    return field
