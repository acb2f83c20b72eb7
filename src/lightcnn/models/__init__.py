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


def check_input(
    arch: str,
    *,
    image_size: int,
    in_channels: int,
    input_size: int | None = None,
    input_channels: int | None = None,
) -> None:
    """Raise :class:`ConfigError` when the data's images do not fit what ``arch`` requires.

    Args:
        arch: the architecture name (for the message).
        image_size: side of the images the data delivers.
        in_channels: channels of the images the data delivers.
        input_size: side the architecture requires (None: any).
        input_channels: channels the architecture requires (None: any).
    """
    if input_size is not None and image_size != input_size:
        raise ConfigError(
            f"{arch} takes {input_size}×{input_size} inputs but the data delivers "
            f"{image_size}×{image_size}; set data.image_size={input_size}"
        )
    if input_channels is not None and in_channels != input_channels:
        raise ConfigError(
            f"{arch} takes {input_channels}-channel inputs but the data delivers "
            f"{in_channels}; set data.num_channels={input_channels}"
        )


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
    "check_input",
]
