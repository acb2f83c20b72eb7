"""AlexNet as plain ``nn.Module``s: torchvision's (optionally ImageNet-pretrained), Krizhevsky
et al. (2012) as published, and a version scaled to 32×32 images.

Every variant takes ``pool``, ``padding`` and ``activation`` from the config; ``padding=default``
reproduces the published zero paddings exactly. The first fully connected layer is sized by the
output-size arithmetic of :mod:`lightcnn.nn.arithmetic`, and a too-small input is a ``ConfigError``
that names the smallest size that builds.
"""

from __future__ import annotations

import logging
import math

import torch
from torch import nn

from lightcnn.core.errors import ConfigError
from lightcnn.models.pretrained import HEAD, check_state_dict, load_pretrained_state
from lightcnn.nn import PADDINGS, layer_output_shape, make_activation, make_conv, make_pool

log = logging.getLogger(__name__)


def _conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    stride: int = 1,
    default: int,
    padding: str,
) -> nn.Module:
    """A convolution with its published zero padding ``default``, or a named padding mode."""
    if padding not in ("default", *PADDINGS):
        raise ConfigError(
            f"model.padding={padding!r} is unknown; allowed: default, {', '.join(PADDINGS)}"
        )
    if padding == "default":
        return nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=default)
    return make_conv(in_channels, out_channels, kernel_size, stride=stride, padding=padding)


def _feature_shape(features: nn.Module, in_channels: int, image_size: int, name: str) -> tuple:
    """Shape of the feature maps; a ConfigError naming the smallest input when they vanish."""

    def shape_at(size: int) -> tuple:
        return layer_output_shape(features, (in_channels, size, size))

    shape = shape_at(image_size)
    if min(shape[1:]) >= 1:
        return shape
    smallest = next((s for s in range(image_size + 1, 4096) if min(shape_at(s)[1:]) >= 1), None)
    height, width = max(shape[1], 0), max(shape[2], 0)
    raise ConfigError(
        f"{name}: a {image_size}×{image_size} input is too small for its layers (the feature "
        f"maps shrink to {height}×{width}); with these pool/padding options it needs "
        f"image_size >= {smallest}: set model.input.image_size (the data module resizes to it)"
    )


def _flat(shape: tuple) -> int:
    return math.prod(shape)


def local_response_norm(enabled: bool = True) -> nn.Module:
    """The 2012 paper's LRN, b = a / (k + α·Σa²)^β over n=5 maps, k=2, α=1e-4, β=0.75.

    PyTorch's ``LocalResponseNorm`` divides its ``alpha`` by n, so it is given α·n.

    Args:
        enabled: False gives an ``nn.Identity`` (LRN switched off in config).
    """
    if not enabled:
        return nn.Identity()
    return nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)


# --------------------------------------------------------------------------- torchvision


class AlexNet(nn.Module):
    """torchvision's AlexNet (the "one weird trick" variant), optionally ImageNet-pretrained.

    conv 64@11×11/4 → pool → conv 192@5×5 → pool → 384@3×3 → 256@3×3 → 256@3×3 → pool →
    adaptive avg-pool 6×6 → dropout → 4096 → dropout → 4096 → num_classes; module names and
    indices match torchvision's, so its state dicts load as they are. 224×224 by default; any
    input from 63×63 builds (the pretrained weights' ``min_size``).

    With ``pretrained`` (or a ``weights_path``) the ImageNet weights are loaded and the last
    Linear is a new ``num_classes`` head. Missing weights never fall back to random ones: they
    raise a ``WeightsError`` naming the file torchvision looks for.

    Args:
        num_classes: outputs of the (new) last Linear.
        in_channels: input channels (3 when pretrained).
        image_size: side of the square input.
        pool: pooling of the three overlapping 3×3 stride-2 pools (``max`` as published).
        padding: ``default`` (torchvision's zero paddings 2, 2, 1, 1, 1) or a named padding mode
            of :func:`lightcnn.nn.make_conv`.
        activation: activation after every conv and hidden FC layer.
        dropout: dropout probability before the two hidden FC layers.
        pretrained: load torchvision's ``AlexNet_Weights.IMAGENET1K_V1``.
        weights_path: load this local state dict (torchvision's key names) instead.
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        image_size: int = 224,
        pool: str = "max",
        padding: str = "default",
        activation: str = "relu",
        dropout: float = 0.5,
        pretrained: bool = False,
        weights_path: str | None = None,
    ) -> None:
        super().__init__()
        self.pretrained = bool(pretrained or weights_path)
        if self.pretrained and (in_channels != 3 or padding != "default"):
            raise ConfigError(
                "pretrained AlexNet weights need 3-channel inputs and model.padding=default "
                f"(the layout they were trained with); got in_channels={in_channels}, "
                f"padding={padding!r}"
            )
        self.features = nn.Sequential(
            _conv(in_channels, 64, 11, stride=4, default=2, padding=padding),
            make_activation(activation),
            make_pool(pool, 3, 2),
            _conv(64, 192, 5, default=2, padding=padding),
            make_activation(activation),
            make_pool(pool, 3, 2),
            _conv(192, 384, 3, default=1, padding=padding),
            make_activation(activation),
            _conv(384, 256, 3, default=1, padding=padding),
            make_activation(activation),
            _conv(256, 256, 3, default=1, padding=padding),
            make_activation(activation),
            make_pool(pool, 3, 2),
        )
        shape = _feature_shape(self.features, in_channels, image_size, "alexnet")
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(_flat(layer_output_shape(self.avgpool, shape)), 4096),
            make_activation(activation),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            make_activation(activation),
            nn.Linear(4096, num_classes),
        )
        if self.pretrained:
            state, source = load_pretrained_state(weights_path)
            self.load_backbone(state, source)
            log.info("alexnet: pretrained weights from %s; new %d-class head", source, num_classes)

    def load_backbone(self, state: dict[str, torch.Tensor], source: str) -> None:
        """Copy every weight but the head's (``classifier.6``) from ``state``, checking keys
        and shapes first so that a wrong file gets one clear ``WeightsError``.

        Args:
            state: a state dict with torchvision's AlexNet key names.
            source: where it came from, for the error message.
        """
        expected = {
            key: value for key, value in self.state_dict().items() if not key.startswith(HEAD)
        }
        given = {key: value for key, value in state.items() if not key.startswith(HEAD)}
        check_state_dict(given, expected, source)
        self.load_state_dict(given, strict=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# --------------------------------------------------------------------------- 2012 paper


class AlexNet2012(nn.Module):
    """AlexNet as published by Krizhevsky, Sutskever and Hinton (NeurIPS 2012).

    A single tower with ungrouped convolutions (the paper split conv2, conv4 and conv5 across two
    GPUs; this is the one-GPU equivalent, so its parameter count is the full 62.4M for 1000
    classes). 227×227 input → conv1 96@11×11 stride 4 → ReLU → LRN → overlapping max-pool 3×3
    stride 2 → conv2 256@5×5 pad 2 → ReLU → LRN → pool → conv3 384@3×3 → conv4 384@3×3 →
    conv5 256@3×3 → pool → dropout 0.5 → fc6 4096 → dropout 0.5 → fc7 4096 → fc8 num_classes.

    LRN: b = a / (k + α·Σa²)^β over n=5 adjacent maps with k=2, α=1e-4, β=0.75. PyTorch's
    ``LocalResponseNorm`` divides its ``alpha`` by n, so it is given α·n. Initialisation as in
    section 5: weights N(0, 0.01²), biases 1 in conv2, conv4, conv5, fc6 and fc7, 0 elsewhere.

    Args:
        num_classes: outputs of fc8.
        in_channels: input channels (3 as published).
        image_size: side of the square input (227 as published; fc6 is sized from it).
        pool: kind of the three overlapping pools.
        padding: ``default`` (the published 0, 2, 1, 1, 1) or a named padding mode.
        activation: activation after every conv and hidden FC layer.
        lrn: local response normalisation after conv1 and conv2.
        dropout: dropout probability before fc6 and fc7.
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        image_size: int = 227,
        pool: str = "max",
        padding: str = "default",
        activation: str = "relu",
        lrn: bool = True,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()

        self.features = nn.Sequential()
        layers = [
            ("conv1", _conv(in_channels, 96, 11, stride=4, default=0, padding=padding)),
            ("act1", make_activation(activation)),
            ("norm1", local_response_norm(lrn)),
            ("pool1", make_pool(pool, 3, 2)),
            ("conv2", _conv(96, 256, 5, default=2, padding=padding)),
            ("act2", make_activation(activation)),
            ("norm2", local_response_norm(lrn)),
            ("pool2", make_pool(pool, 3, 2)),
            ("conv3", _conv(256, 384, 3, default=1, padding=padding)),
            ("act3", make_activation(activation)),
            ("conv4", _conv(384, 384, 3, default=1, padding=padding)),
            ("act4", make_activation(activation)),
            ("conv5", _conv(384, 256, 3, default=1, padding=padding)),
            ("act5", make_activation(activation)),
            ("pool5", make_pool(pool, 3, 2)),
        ]
        for name, layer in layers:
            self.features.add_module(name, layer)
        shape = _feature_shape(self.features, in_channels, image_size, "alexnet_2012")
        self.classifier = nn.Sequential()
        for name, layer in (
            ("drop6", nn.Dropout(dropout)),
            ("fc6", nn.Linear(_flat(shape), 4096)),
            ("act6", make_activation(activation)),
            ("drop7", nn.Dropout(dropout)),
            ("fc7", nn.Linear(4096, 4096)),
            ("act7", make_activation(activation)),
            ("fc8", nn.Linear(4096, num_classes)),
        ):
            self.classifier.add_module(name, layer)
        self._init_weights()

    def _init_weights(self) -> None:
        ones = {"conv2", "conv4", "conv5", "fc6", "fc7"}
        for name, module in (*self.features.named_children(), *self.classifier.named_children()):
            for layer in module.modules():  # a padded conv is a Sequential around the Conv2d
                if isinstance(layer, nn.Conv2d | nn.Linear):
                    nn.init.normal_(layer.weight, mean=0.0, std=0.01)
                    nn.init.constant_(layer.bias, 1.0 if name in ones else 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


# --------------------------------------------------------------------------- CIFAR-sized


class AlexNetCifar(nn.Module):
    """AlexNet's five-conv / three-FC design scaled to 32×32 images, without upsampling.

    conv1 64@5×5 → act → [LRN] → overlapping pool 3×3/2 → conv2 192@3×3 → act → [LRN] → pool →
    conv3 384@3×3 → conv4 256@3×3 → conv5 256@3×3 → pool → dropout → FC hidden → dropout →
    FC hidden → num_classes. The maps shrink 32→15→7→3 (2,304 features), with the published
    widths; the kernels shrink with the input (11 and 5 become 5 and 3) and the hidden FC layers
    to ``hidden_features``, so CIFAR-10 from scratch is practical on one GPU or a CPU.

    Args:
        num_classes: outputs of the last Linear.
        in_channels: input channels (the first conv adapts: 1 for MNIST, 3 for CIFAR-10).
        image_size: side of the square input (32).
        pool: kind of the three overlapping pools.
        padding: ``default`` (zero padding that keeps each conv's size) or a named padding mode.
        activation: activation after every conv and hidden FC layer.
        lrn: local response normalisation after conv1 and conv2, as in the 2012 paper.
        dropout: dropout probability before the two hidden FC layers.
        hidden_features: width of the two hidden FC layers.
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        image_size: int = 32,
        pool: str = "max",
        padding: str = "default",
        activation: str = "relu",
        lrn: bool = False,
        dropout: float = 0.5,
        hidden_features: int = 1024,
    ) -> None:
        super().__init__()

        self.features = nn.Sequential(
            _conv(in_channels, 64, 5, default=2, padding=padding),
            make_activation(activation),
            local_response_norm(lrn),
            make_pool(pool, 3, 2),
            _conv(64, 192, 3, default=1, padding=padding),
            make_activation(activation),
            local_response_norm(lrn),
            make_pool(pool, 3, 2),
            _conv(192, 384, 3, default=1, padding=padding),
            make_activation(activation),
            _conv(384, 256, 3, default=1, padding=padding),
            make_activation(activation),
            _conv(256, 256, 3, default=1, padding=padding),
            make_activation(activation),
            make_pool(pool, 3, 2),
        )
        shape = _feature_shape(self.features, in_channels, image_size, "alexnet_cifar")
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(_flat(shape), hidden_features),
            make_activation(activation),
            nn.Dropout(dropout),
            nn.Linear(hidden_features, hidden_features),
            make_activation(activation),
            nn.Linear(hidden_features, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))
