"""AlexNet variants: torchvision parity, the 2012 paper's shapes, counts, LRN and init."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from lightcnn.core.errors import ConfigError
from lightcnn.models import build_model
from lightcnn.models.alexnet import AlexNet2012, local_response_norm


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_alexnet_has_torchvisions_layout_keys_and_parameter_count() -> None:
    ours = build_model("alexnet", num_classes=1000).state_dict()
    theirs = torchvision.models.alexnet().state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}
    assert sum(v.numel() for v in ours.values()) == 61_100_840  # torchvision's meta num_params


def test_alexnet_2012_maps_227_to_logits_through_the_published_sizes() -> None:
    model = AlexNet2012(num_classes=1000)
    x = torch.randn(2, 3, 227, 227)
    sizes = {}
    for name, layer in model.features.named_children():
        x = layer(x)
        sizes[name] = tuple(x.shape[1:])
    assert sizes["conv1"] == (96, 55, 55) and sizes["pool1"] == (96, 27, 27)
    assert sizes["conv2"] == (256, 27, 27) and sizes["pool2"] == (256, 13, 13)
    assert sizes["conv5"] == (256, 13, 13) and sizes["pool5"] == (256, 6, 6)
    assert model(torch.randn(2, 3, 227, 227)).shape == (2, 1000)


def test_alexnet_2012_parameter_count_single_tower() -> None:
    model = AlexNet2012(num_classes=1000)
    layers = dict(model.features.named_children()) | dict(model.classifier.named_children())
    counts = {name: count(layers[name]) for name in ("conv1", "conv2", "conv3", "conv4", "conv5")}
    counts |= {name: count(layers[name]) for name in ("fc6", "fc7", "fc8")}
    assert counts == {
        "conv1": 96 * 3 * 11 * 11 + 96,
        "conv2": 256 * 96 * 5 * 5 + 256,
        "conv3": 384 * 256 * 3 * 3 + 384,
        "conv4": 384 * 384 * 3 * 3 + 384,
        "conv5": 256 * 384 * 3 * 3 + 256,
        "fc6": 9216 * 4096 + 4096,
        "fc7": 4096 * 4096 + 4096,
        "fc8": 4096 * 1000 + 1000,
    }
    assert count(model) == 62_378_344
    assert count(AlexNet2012(num_classes=10)) == 62_378_344 - 4096 * 990 - 990


def test_alexnet_2012_initialisation_follows_the_paper() -> None:
    torch.manual_seed(0)
    model = AlexNet2012(num_classes=10)
    layers = dict(model.features.named_children()) | dict(model.classifier.named_children())
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"):
        weight, bias = layers[name].weight, layers[name].bias
        if weight.numel() > 10_000:  # enough samples for a tight estimate
            assert weight.std().item() == pytest.approx(0.01, rel=0.05)
            assert abs(weight.mean().item()) < 1e-3
        expected = 1.0 if name in ("conv2", "conv4", "conv5", "fc6", "fc7") else 0.0
        assert torch.all(bias == expected), name


def test_lrn_matches_the_paper_formula() -> None:
    torch.manual_seed(0)
    a = torch.randn(2, 12, 5, 5) * 10
    n, k, alpha, beta = 5, 2.0, 1e-4, 0.75
    expected = torch.empty_like(a)
    for c in range(a.shape[1]):
        lo, hi = max(0, c - n // 2), min(a.shape[1] - 1, c + n // 2)
        total = (a[:, lo : hi + 1] ** 2).sum(dim=1)
        expected[:, c] = a[:, c] / (k + alpha * total) ** beta
    torch.testing.assert_close(local_response_norm()(a), expected, rtol=1e-5, atol=1e-6)
    assert isinstance(local_response_norm(False), nn.Identity)
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in AlexNet2012(lrn=False).modules())


def test_alexnet_cifar_is_small_and_takes_any_channel_count() -> None:
    model = build_model("alexnet_cifar")
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert model.classifier[1].in_features == 256 * 3 * 3  # 32 → 15 → 7 → 3
    assert count(model) < 6_000_000
    gray = build_model("alexnet_cifar", in_channels=1, lrn=True, num_classes=5)
    assert gray(torch.randn(2, 1, 32, 32)).shape == (2, 5)
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in gray.modules()) == 2


@pytest.mark.parametrize("arch", ["alexnet", "alexnet_2012", "alexnet_cifar"])
@pytest.mark.parametrize(
    ("pool", "padding"), [("avg", "default"), ("min", "same"), ("max", "reflect")]
)
def test_pool_and_padding_options_build_and_run(arch: str, pool: str, padding: str) -> None:
    size = {"alexnet": 96, "alexnet_2012": 99, "alexnet_cifar": 32}[arch]
    model = build_model(arch, pool=pool, padding=padding, image_size=size)
    assert model(torch.randn(1, 3, size, size)).shape == (1, 10)


@pytest.mark.parametrize(
    ("arch", "smallest"), [("alexnet", 63), ("alexnet_2012", 67), ("alexnet_cifar", 15)]
)
def test_too_small_inputs_name_the_smallest_size(arch: str, smallest: int) -> None:
    build_model(arch, image_size=smallest)
    with pytest.raises(
        ConfigError, match=f"needs image_size >= {smallest}.*model.input.image_size"
    ):
        build_model(arch, image_size=smallest - 1)


def test_unknown_padding_lists_the_allowed_modes() -> None:
    with pytest.raises(ConfigError, match="model.padding='mirror' is unknown; allowed: default"):
        build_model("alexnet_cifar", padding="mirror")
