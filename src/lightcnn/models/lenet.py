"""LeNet-5 as plain ``nn.Module``s: the modern form and LeCun et al. (1998) as published."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lightcnn.core.errors import ConfigError
from lightcnn.nn import (
    POOLS,
    layer_output_shape,
    make_activation,
    make_conv,
    make_padding,
    make_pool,
)

# LeNet's pooling choices: the paper's trainable subsampling or any window pool. Global pools
# are left out: they would shrink the maps to 1×1 before the second convolution.
LENET_POOLS = ("subsample", *POOLS)


class LeNet5(nn.Module):
    """LeNet-5 in its modern form.

    conv 6@5×5 → act → pool 2 → conv 16@5×5 → act → pool 2 → FC 120 → FC 84 → num_classes.
    With the defaults on a 28×28 MNIST digit the maps shrink 28→24→12→8→4 (28→28→14→14→7 with
    ``padding="same"``); the first fully connected layer is sized from the arithmetic, so any
    input size, pooling or padding builds.

    Args:
        num_classes: output classes.
        in_channels: image channels.
        image_size: image side.
        pool: ``subsample`` (LeNet's trainable subsampling), ``max``, ``avg``, ``min`` or ``lp``.
        padding: ``valid``, ``same``, ``zeros``, ``constant``, ``reflect``, ``replicate`` or
            ``circular`` (see ``lightcnn.nn.make_padding``).
        padding_value: fill value of ``constant`` padding.
        activation: ``relu``, ``tanh``, ``sigmoid`` or ``scaled_tanh``.
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: int = 28,
        pool: str = "max",
        padding: str = "valid",
        padding_value: float = 0.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            make_conv(in_channels, 6, 5, padding=padding, padding_value=padding_value),
            make_activation(activation),
            _make_pool(pool, 6),
            make_conv(6, 16, 5, padding=padding, padding_value=padding_value),
            make_activation(activation),
            _make_pool(pool, 16),
        )
        flat = _flat_features(self.features, (in_channels, image_size, image_size), "lenet5")
        self.classifier = nn.Sequential(
            nn.Linear(flat, 120),
            make_activation(activation),
            nn.Linear(120, 84),
            make_activation(activation),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class Subsampling(nn.AvgPool2d):
    """LeNet-5's trainable subsampling (S2, S4).

    Each map sums a 2×2 window, multiplies it by a trainable coefficient and adds a trainable
    bias: two parameters per map. An average pool underneath, so the shape arithmetic and the
    receptive field treat it as one.
    """

    def __init__(self, channels: int, kernel_size: int = 2) -> None:
        super().__init__(kernel_size)
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window_sum = super().forward(x) * self.kernel_size**2
        return window_sum * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def _make_pool(kind: str, channels: int) -> nn.Module:
    """LeNet's 2×2 pooling layer of ``kind`` over ``channels`` maps."""
    if kind not in LENET_POOLS:
        raise ConfigError(
            f"model.pool={kind!r} is not a LeNet-5 pooling; allowed: {', '.join(LENET_POOLS)}"
        )
    return Subsampling(channels) if kind == "subsample" else make_pool(kind, 2)


# Table I of LeCun et al. (1998): the S2 maps each C3 map sees.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


class PartialConv(nn.Module):
    """C3: a 5×5 convolution in which each output map sees only its subset of input maps.

    One 5×5 kernel is stored per connection of the table (the paper's 1516 parameters for the
    published table); each forward scatters them into a dense kernel whose missing connections
    are zero and runs one ordinary convolution. On a CPU that is about 10× faster than grouped
    convolutions over gathered inputs (measured on this project's 2-core machine: fwd+bwd of a
    64-image batch 0.85 ms against 10.4 ms).

    Args:
        table: for each output map, the input maps it sees.
        kernel_size: the kernel side.
        padding: zero padding of the convolution.
    """

    def __init__(
        self, table: tuple[tuple[int, ...], ...] = C3_TABLE, kernel_size: int = 5, padding: int = 0
    ) -> None:
        super().__init__()
        self.table = table
        self.out_channels = len(table)
        self.in_channels = 1 + max(c for inputs in table for c in inputs)
        self.kernel_size = kernel_size
        self.padding = padding
        pairs = [(out, inp) for out, inputs in enumerate(table) for inp in inputs]
        self.register_buffer("out_index", torch.tensor([o for o, _ in pairs]), persistent=False)
        self.register_buffer("in_index", torch.tensor([i for _, i in pairs]), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(pairs), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(self.out_channels))
        self.reset_parameters()

    def fan_in(self) -> list[int]:
        """Inputs of the unit each connection's kernel feeds (its map's inputs × kernel area)."""
        return [len(inputs) * self.kernel_size**2 for inputs in self.table for _ in inputs]

    def reset_parameters(self) -> None:
        """The paper's initialisation: uniform in ±2.4 / fan-in of the unit."""
        bound = 2.4 / torch.tensor(self.fan_in(), device=self.weight.device)
        with torch.no_grad():
            self.weight.uniform_(-1, 1).mul_(bound.view(-1, 1, 1))
            self.bias.zero_()

    def dense_weight(self) -> torch.Tensor:
        """The equivalent full (out, in, k, k) kernel, zero where the table has no connection."""
        shape = (self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)
        return self.weight.new_zeros(shape).index_put((self.out_index, self.in_index), self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias, padding=self.padding)

    def output_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        _, h, w = shape
        side = self.kernel_size - 1 - 2 * self.padding
        return (self.out_channels, h - side, w - side)

    def receptive_window(self) -> tuple[int, int]:
        """(kernel size, stride) for the receptive-field arithmetic."""
        return self.kernel_size, 1


class LeNet5_1998(nn.Module):
    """LeNet-5 as published by LeCun, Bottou, Bengio and Haffner (1998).

    32×32 input (MNIST padded by 2) → C1 6@5×5 → S2 trainable subsampling → C3 16@5×5 with the
    partial connection table → S4 → C5 120@5×5 → F6 84 → output num_classes. Every layer up to
    F6 is squashed by 1.7159·tanh(2a/3). Trainable parameters per layer: C1 156, S2 12,
    C3 1516, S4 32, C5 48120, F6 10164. The paper's RBF output units are replaced by a linear
    layer trained with cross-entropy, as in most reproductions.

    Args:
        num_classes: output classes.
        in_channels: image channels.
        image_size: image side (32 in the paper).
        pool: S2 and S4: ``subsample`` (the paper's trainable subsampling, squashed after it),
            or ``max``, ``avg``, ``min``, ``lp`` (fixed pools; no second squashing after them,
            since the maps they pool are squashed already).
        padding: border of C1 and C3 (``valid`` in the paper; see
            ``lightcnn.nn.make_padding``). C5 stays a valid 5×5 convolution: in the paper it
            is a fully connected layer over S4.
        padding_value: fill value of ``constant`` padding.
        activation: the squashing function (``scaled_tanh`` in the paper).
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: int = 32,
        pool: str = "subsample",
        padding: str = "valid",
        padding_value: float = 0.0,
        activation: str = "scaled_tanh",
    ) -> None:
        super().__init__()
        c3 = PartialConv(C3_TABLE, 5)
        self.features = nn.Sequential()
        self.features.add_module(
            "C1", make_conv(in_channels, 6, 5, padding=padding, padding_value=padding_value)
        )
        self.features.add_module("act1", make_activation(activation))
        self.features.add_module("S2", _make_pool(pool, 6))
        if pool == "subsample":  # subsampling is affine: the paper squashes its output
            self.features.add_module("act2", make_activation(activation))
        self.features.add_module(
            "C3",
            c3
            if padding == "valid"
            else nn.Sequential(make_padding(padding, 5, value=padding_value), c3),
        )
        self.features.add_module("act3", make_activation(activation))
        self.features.add_module("S4", _make_pool(pool, 16))
        if pool == "subsample":
            self.features.add_module("act4", make_activation(activation))
        _, h, w = layer_output_shape(self.features, (in_channels, image_size, image_size))
        if h < 5 or w < 5:
            raise ConfigError(
                f"lenet5_1998 needs S4 maps of at least 5×5 for its 5×5 C5 convolution "
                f"(image_size >= 32 with padding=valid); image_size={image_size} with "
                f"padding={padding} gives {h}×{w}"
            )
        # C5 is a convolution over the whole 5×5 S4 map for a 32×32 input (a fully connected
        # layer in effect); larger inputs leave a larger map, which is flattened.
        self.features.add_module("C5", nn.Conv2d(16, 120, 5))
        self.features.add_module("act5", make_activation(activation))
        flat = _flat_features(self.features, (in_channels, image_size, image_size), "lenet5_1998")
        self.classifier = nn.Sequential()
        self.classifier.add_module("F6", nn.Linear(flat, 84))
        self.classifier.add_module("act6", make_activation(activation))
        self.classifier.add_module("output", nn.Linear(84, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        # Paper, appendix C: weights uniform in ±2.4/F_in, F_in the unit's fan-in (PartialConv
        # initialises itself that way).
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                fan_in = module.weight[0].numel()
                nn.init.uniform_(module.weight, -2.4 / fan_in, 2.4 / fan_in)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def _flat_features(features: nn.Module, in_shape: tuple[int, int, int], name: str) -> int:
    """Features after flattening ``features``; a clear error when the input is too small."""
    shape = layer_output_shape(features, in_shape)
    if min(shape[1:]) < 1:
        raise ConfigError(
            f"{name}: input {in_shape[1]}×{in_shape[2]} is too small for its layers "
            f"(the feature maps shrink to {shape[1]}×{shape[2]}); use a larger "
            "model.input.image_size or model.padding=same"
        )
    c, h, w = shape
    return c * h * w
