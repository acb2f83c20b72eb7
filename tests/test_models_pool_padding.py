"""Every LeNet-5 variant builds, runs and trains under every pooling × padding choice."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lightcnn.core.errors import ConfigError
from lightcnn.launch.build import build_data_and_model
from lightcnn.models import build_model
from lightcnn.models.lenet import LENET_POOLS, Subsampling
from lightcnn.nn import PADDINGS, MinPool2d, layer_output_shape

SIZES = {"lenet5": 28, "lenet5_1998": 32}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: a second intra-op thread only adds waiting (3× slower on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("pool", LENET_POOLS)
@pytest.mark.parametrize("arch", sorted(SIZES))
def test_every_pool_and_padding_builds_runs_and_backpropagates(
    arch: str, pool: str, padding: str
) -> None:
    size = SIZES[arch]
    model = build_model(arch, image_size=size, pool=pool, padding=padding, padding_value=0.5)
    x = torch.randn(2, 1, size, size)
    maps = model.features(x)
    # The first fully connected layer was sized by the arithmetic, and the arithmetic is right.
    assert layer_output_shape(model.features, (1, size, size)) == tuple(maps.shape[1:])
    assert model.classifier[0].in_features == math.prod(maps.shape[1:])
    logits = model(x)
    assert logits.shape == (2, 10)
    logits.logsumexp(1).sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize(
    ("padding", "sizes"), [("valid", [24, 12, 8, 4]), ("same", [28, 14, 14, 7])]
)
def test_lenet5_map_sizes_per_padding(padding: str, sizes: list[int]) -> None:
    model = build_model("lenet5", padding=padding)
    x, seen = torch.zeros(1, 1, 28, 28), []
    for layer in model.features:
        x = layer(x)
        if not isinstance(layer, nn.ReLU):
            seen.append(x.shape[-1])
    assert seen == sizes


def test_config_choices_reach_the_model(make_cfg) -> None:
    """python -m lightcnn.train model.pool=min model.padding=same builds that model."""
    net = build_data_and_model(make_cfg("model.pool=min", "model.padding=same"))[1].net
    assert [type(m) for m in net.features if not isinstance(m, nn.ReLU)] == [
        nn.Conv2d,
        MinPool2d,
        nn.Conv2d,
        MinPool2d,
    ]
    assert net.features[0].padding == (2, 2)
    assert net.classifier[0].in_features == 16 * 7 * 7


def test_lenet5_1998_takes_pool_and_padding_from_config(make_cfg) -> None:
    paper = build_data_and_model(make_cfg("model=lenet5_1998"))[1].net
    assert isinstance(paper.features.S2, Subsampling) and hasattr(paper.features, "act2")
    cfg = make_cfg("model=lenet5_1998", "model.pool=max", "model.padding=reflect")
    net = build_data_and_model(cfg)[1].net
    assert isinstance(net.features.S2, nn.MaxPool2d) and not hasattr(net.features, "act2")
    assert isinstance(net.features.C1[0], nn.ReflectionPad2d)
    # C1/C3 keep 32 and 16; S4 gives 8; C5 (valid) gives 4×4 maps: F6 sees 120·4·4 features.
    assert net.classifier.F6.in_features == 120 * 4 * 4


@pytest.mark.parametrize("arch", sorted(SIZES))
@pytest.mark.parametrize("pool", ["global_avg", "median"])
def test_pools_lenet_cannot_use_are_named(arch: str, pool: str) -> None:
    with pytest.raises(ConfigError, match=f"model.pool='{pool}' is not a LeNet-5 pooling"):
        build_model(arch, image_size=SIZES[arch], pool=pool)
