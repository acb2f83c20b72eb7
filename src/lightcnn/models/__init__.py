"""Model registry: architecture name → builder of a plain ``nn.Module``."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from lightcnn.errors import ConfigError
from lightcnn.models.alexnet import AlexNet, AlexNet2012, AlexNetCifar
from lightcnn.models.lenet import LeNet5, LeNet5_1998

MODELS: dict[str, Callable[..., nn.Module]] = {
    "lenet5": LeNet5,
    "lenet5_1998": LeNet5_1998,
    "alexnet": AlexNet,
    "alexnet_2012": AlexNet2012,
    "alexnet_cifar": AlexNetCifar,
}


def build_model(arch: str, **kwargs: object) -> nn.Module:
    """Build the backbone named ``arch`` with keyword arguments from the model config.

    Args:
        arch: a key of ``MODELS``.
        **kwargs: the builder's keyword arguments (num_classes, in_channels, image_size, ...).
    """
    if arch not in MODELS:
        raise ConfigError(f"model.arch={arch!r} is unknown; allowed: {', '.join(MODELS)}")
    builder = MODELS[arch]
    accepted = inspect.signature(builder).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        allowed = ", ".join(name for name in accepted if name != "self")
        raise ConfigError(f"model.{unknown[0]} is not an option of {arch}; its options: {allowed}")
    return builder(**kwargs)


__all__ = [
    "MODELS",
    "AlexNet",
    "AlexNet2012",
    "AlexNetCifar",
    "LeNet5",
    "LeNet5_1998",
    "build_model",
]
