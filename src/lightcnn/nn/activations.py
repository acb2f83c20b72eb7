"""Activations by name: ``activation: relu`` in a model config becomes a fresh module."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from lightcnn.core.errors import ConfigError


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
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()
