"""Model registry: architecture name → builder of a plain ``nn.Module``, and the input each
architecture takes (:mod:`lightcnn.models.input_spec`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from lightcnn.core.errors import ConfigError
from lightcnn.models.alexnet import AlexNet, AlexNet2012, AlexNetCifar
from lightcnn.models.custom import custom_network, network_name, trusting
from lightcnn.models.input_spec import FITS, InputSpec
from lightcnn.models.lenet import LeNet5, LeNet5_1998
from lightcnn.models.pretrained import pretrained_input

MODELS: dict[str, Callable[..., nn.Module]] = {
    "lenet5": LeNet5,
    "lenet5_1998": LeNet5_1998,
    "alexnet": AlexNet,
    "alexnet_2012": AlexNet2012,
    "alexnet_cifar": AlexNetCifar,
    "custom": custom_network,  # your own nn.Module by import path: models/custom.py
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


def uses_pretrained_weights(options: Mapping[str, Any]) -> bool:
    """Whether a model config loads pretrained weights (``pretrained`` or ``weights_path``)."""
    return bool(options.get("pretrained") or options.get("weights_path"))


def input_requirement(options: Mapping[str, Any]) -> InputSpec:
    """What the configured model needs of its input, before the dataset fills in the rest.

    ``model.input`` states the architecture's needs; pretrained weights add their own
    normalisation and 3 channels.

    Args:
        options: the model config (``arch``, ``input``, ``pretrained``, ``weights_path``, ...).
    """
    spec = InputSpec.from_dict(options.get("input"))
    return pretrained_input(spec) if uses_pretrained_weights(options) else spec


__all__ = [
    "FITS",
    "MODELS",
    "AlexNet",
    "AlexNet2012",
    "AlexNetCifar",
    "InputSpec",
    "LeNet5",
    "LeNet5_1998",
    "build_model",
    "custom_network",
    "input_requirement",
    "network_name",
    "trusting",
    "uses_pretrained_weights",
]
