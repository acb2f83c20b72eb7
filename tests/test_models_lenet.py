"""LeNet-5 variants: shapes, the 1998 paper's parameter counts, the C3 connection table."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightcnn.core.errors import ConfigError
from lightcnn.models import build_model
from lightcnn.models.lenet import C3_TABLE, LeNet5_1998, PartialConv
from lightcnn.nn import layer_output_shape


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def test_lenet5_maps_shrink_as_in_the_paper_figure() -> None:
    model = build_model("lenet5")
    shapes = []
    x = torch.zeros(2, 1, 28, 28)
    for layer in model.features:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    assert [s[1] for s in shapes] == [24, 24, 12, 8, 8, 4]
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    # 156 + 2416 conv, 256*120+120, 120*84+84, 84*10+10
    assert count(model) == 156 + 2416 + 30840 + 10164 + 850


@pytest.mark.parametrize(
    ("channels", "size", "classes"), [(1, 28, 10), (3, 32, 10), (1, 32, 5), (3, 64, 100)]
)
def test_lenet5_sizes_its_classifier_from_the_input(channels: int, size: int, classes: int) -> None:
    model = build_model("lenet5", in_channels=channels, image_size=size, num_classes=classes)
    assert model(torch.randn(3, channels, size, size)).shape == (3, classes)


def test_lenet5_1998_has_the_published_parameter_counts() -> None:
    model = LeNet5_1998(num_classes=10, image_size=32)
    layers = dict(model.features.named_children()) | dict(model.classifier.named_children())
    counts = {name: count(layers[name]) for name in ("C1", "S2", "C3", "S4", "C5", "F6")}
    assert counts == {"C1": 156, "S2": 12, "C3": 1516, "S4": 32, "C5": 48120, "F6": 10164}
    assert model(torch.randn(4, 1, 32, 32)).shape == (4, 10)
    assert layer_output_shape(model.features, (1, 32, 32)) == (120, 1, 1)


def test_c3_partial_connections_match_a_masked_full_convolution() -> None:
    torch.manual_seed(0)
    layer = PartialConv()
    x = torch.randn(2, 6, 14, 14)
    # Rebuild the equivalent full 6→16 convolution whose missing connections are zero.
    weight = torch.zeros(16, 6, 5, 5)
    kernels = iter(layer.weight)
    for m, inputs in enumerate(C3_TABLE):
        for channel in inputs:
            weight[m, channel] = next(kernels)
    expected = nn.functional.conv2d(x, weight, layer.bias)
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)
    # Map 0 must ignore S2 maps 3, 4, 5: changing them leaves it unchanged.
    y = x.clone()
    y[:, 3:] += 1.0
    torch.testing.assert_close(layer(y)[:, 0], layer(x)[:, 0])
    assert not torch.allclose(layer(y)[:, 15], layer(x)[:, 15])
    # Gradients reach only the table's kernels (60 of them), none of the missing connections.
    layer(x).sum().backward()
    assert layer.weight.grad.shape == (60, 5, 5) and layer.weight.grad.abs().sum() > 0


def test_c3_starts_with_the_papers_initialisation() -> None:
    torch.manual_seed(0)
    layer = PartialConv()
    # map 0 sees 3 maps (fan-in 75), map 15 all 6 (fan-in 150): bounds 2.4/75 and 2.4/150
    first, last = layer.weight[:3], layer.weight[-6:]
    assert 0.8 * 2.4 / 75 < first.abs().max() <= 2.4 / 75
    assert 0.8 * 2.4 / 150 < last.abs().max() <= 2.4 / 150
    assert torch.all(layer.bias == 0)


def test_lenet5_1998_squashes_with_lecuns_scaled_tanh() -> None:
    model = LeNet5_1998()
    act = model.features.act1
    assert act(torch.tensor([100.0])).item() == pytest.approx(1.7159, abs=1e-4)
    assert act(torch.tensor([1.0])).item() == pytest.approx(
        1.7159 * torch.tanh(torch.tensor(2 / 3)).item()
    )


def test_too_small_inputs_give_a_config_error() -> None:
    with pytest.raises(ConfigError, match="image_size"):
        build_model("lenet5_1998", image_size=28)
    with pytest.raises(ConfigError, match="too small"):
        build_model("lenet5", image_size=12)


def test_unknown_arch_and_option_are_named() -> None:
    with pytest.raises(ConfigError, match="allowed: lenet5, lenet5_1998"):
        build_model("lenet6")
    with pytest.raises(ConfigError, match="model.depth is not an option of lenet5"):
        build_model("lenet5", depth=3)
