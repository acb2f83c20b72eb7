"""Output-size arithmetic and receptive fields against what PyTorch layers really do."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lightcnn.models import build_model
from lightcnn.nn import GLOBAL_POOLS, POOLS, MinPool2d, make_pool
from lightcnn.nn.arithmetic import Field, layer_output_shape, output_size, receptive_field

EXAMPLES = settings(max_examples=60, deadline=None)


@st.composite
def windows(draw: st.DrawFn, max_dilation: int = 3, pool: bool = False) -> dict[str, int]:
    """A kernel / stride / padding / dilation and an input (h, w) large enough for it.

    Pools take at most half the kernel as padding (PyTorch's limit).
    """
    kernel = draw(st.integers(1, 7))
    dilation = draw(st.integers(1, max_dilation))
    padding = draw(st.integers(0, kernel // 2 if pool else 3))
    span = dilation * (kernel - 1) + 1
    smallest = max(1, span - 2 * padding)
    return {
        "kernel": kernel,
        "stride": draw(st.integers(1, 4)),
        "padding": padding,
        "dilation": dilation,
        "h": draw(st.integers(smallest, smallest + 30)),
        "w": draw(st.integers(smallest, smallest + 30)),
    }


@EXAMPLES
@given(win=windows())
def test_conv_arithmetic_equals_pytorch(win: dict[str, int]) -> None:
    conv = nn.Conv2d(2, 3, win["kernel"], win["stride"], win["padding"], win["dilation"])
    real = conv(torch.zeros(1, 2, win["h"], win["w"])).shape
    assert layer_output_shape(conv, (2, win["h"], win["w"])) == tuple(real[1:])
    assert (
        output_size(win["h"], win["kernel"], win["stride"], win["padding"], win["dilation"])
        == (real[2])
    )


@pytest.mark.parametrize("kind", POOLS)
@EXAMPLES
@given(win=windows(max_dilation=1, pool=True), ceil_mode=st.booleans())
def test_pool_arithmetic_equals_pytorch(kind: str, win: dict[str, int], ceil_mode: bool) -> None:
    kernel, stride, padding, h, w = (win[key] for key in ("kernel", "stride", "padding", "h", "w"))
    pool = make_pool(kind, kernel, stride, padding, ceil_mode)
    real = pool(torch.rand(1, 3, h, w)).shape
    assert layer_output_shape(pool, (3, h, w)) == tuple(real[1:])
    if kind != "lp":  # lp pads with a ZeroPad2d in front (LPPool2d has no padding)
        assert output_size(h, kernel, stride, padding, 1, ceil_mode) == real[2]


@EXAMPLES
@given(win=windows(pool=True), ceil_mode=st.booleans())
def test_dilated_min_and_max_pool_arithmetic_equals_pytorch(
    win: dict[str, int], ceil_mode: bool
) -> None:
    k, s, p, d = win["kernel"], win["stride"], win["padding"], win["dilation"]
    for pool in (MinPool2d(k, s, p, d, ceil_mode), nn.MaxPool2d(k, s, p, d, ceil_mode=ceil_mode)):
        real = pool(torch.rand(1, 1, win["h"], win["w"])).shape
        assert layer_output_shape(pool, (1, win["h"], win["w"])) == tuple(real[1:])
        assert output_size(win["h"], k, s, p, d, ceil_mode) == real[2]


@pytest.mark.parametrize("kind", GLOBAL_POOLS)
@settings(max_examples=20, deadline=None)
@given(h=st.integers(1, 30), w=st.integers(1, 30))
def test_global_pools_give_one_value_per_map(kind: str, h: int, w: int) -> None:
    x = torch.randn(2, 4, h, w)
    pool = make_pool(kind)
    out = pool(x)
    assert layer_output_shape(pool, (4, h, w)) == tuple(out.shape[1:]) == (4, 1, 1)
    expected = x.mean((2, 3)) if kind == "global_avg" else x.amax((2, 3))
    torch.testing.assert_close(out.flatten(1), expected)


def test_ceil_mode_keeps_the_partial_last_window() -> None:
    # 7 pixels, windows of 2: floor gives 3 windows, ceil a 4th over the last pixel alone.
    assert output_size(7, 2, 2) == 3
    assert output_size(7, 2, 2, ceil_mode=True) == 4
    # ... but never a window that starts in the right padding: PyTorch drops it.
    assert output_size(5, 2, 2, padding=1, ceil_mode=True) == 3
    assert nn.MaxPool2d(2, 2, 1, ceil_mode=True)(torch.zeros(1, 1, 5, 5)).shape[-1] == 3


# ----------------------------------------------------------------------- receptive field


@st.composite
def linear_stacks(draw: st.DrawFn) -> list[nn.Module]:
    """1-3 layers of all-ones convolutions and average pools (no cancellation in gradients).

    Windows slide along the height only (k×1), the axis the receptive field is measured on.
    """
    layers: list[nn.Module] = []
    for _ in range(draw(st.integers(1, 3))):
        kernel, stride = (draw(st.integers(1, 4)), 1), (draw(st.integers(1, 3)), 1)
        if draw(st.booleans()):
            dilation = (draw(st.integers(1, 2)), 1)
            conv = nn.Conv2d(1, 1, kernel, stride, dilation=dilation, bias=False)
            nn.init.ones_(conv.weight)
            layers.append(conv)
        else:
            layers.append(nn.AvgPool2d(kernel, stride))
    return layers


def support(stack: nn.Module, size: int, row: int) -> tuple[int, int]:
    """First and last input row that output unit ``row`` depends on (by its gradient)."""
    x = torch.ones(1, 1, size, 1, dtype=torch.float64, requires_grad=True)
    stack(x)[0, 0, row].sum().backward()
    rows = x.grad[0, 0, :, 0].nonzero().flatten()
    return int(rows.min()), int(rows.max())


@settings(max_examples=40, deadline=None)
@given(layers=linear_stacks())
def test_receptive_field_and_jump_equal_the_gradient_support(layers: list[nn.Module]) -> None:
    stack = nn.Sequential(*layers).double()
    field = receptive_field(layers, (1, 64, 1))
    size = field.size + 3 * field.jump  # room for a few units
    first, last = support(stack, size, 0)
    assert last - first + 1 == field.size
    assert support(stack, size, 1)[0] - first == field.jump


def test_lenet5_receptive_fields() -> None:
    model = build_model("lenet5")
    assert receptive_field(model.features, (1, 28, 28)) == Field(size=16, jump=4)
    assert receptive_field(model.features[:3], (1, 28, 28)) == Field(size=6, jump=2)
    # C5 of the 1998 model sees the whole 32×32 input.
    paper = build_model("lenet5_1998", image_size=32)
    assert receptive_field(paper.features, (1, 32, 32)) == Field(size=32, jump=4)


@pytest.mark.parametrize(
    ("size", "out", "expected"),
    [(6, 6, Field(1, 1)), (13, 6, Field(3, 2)), (9, 1, Field(9, 9)), (5, None, Field(1, 1))],
)
def test_adaptive_pool_receptive_fields(size: int, out: int | None, expected: Field) -> None:
    pool = nn.AdaptiveAvgPool2d((out, 1))
    assert receptive_field(pool, (1, size, 1)) == expected
    first, last = support(pool.double(), size, 0)
    assert last - first + 1 == expected.size


def test_unknown_layer_has_no_silent_rule() -> None:
    with pytest.raises(TypeError, match="no output-size rule for GELU"):
        layer_output_shape(nn.GELU(), (1, 4, 4))
