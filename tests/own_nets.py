"""A network of one's own for the tests (``model=custom model.net._target_=own_nets.TinyNet``):
importable because the tests' folder is on ``sys.path``."""

from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    """One convolution, a global pool and a linear head: any side, any channels."""

    def __init__(self, num_classes: int, in_channels: int, width: int = 4) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1)
        )
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))
