"""Pooling and padding factories: what each kind computes, and the errors for bad names."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lightcnn.core.errors import ConfigError
from lightcnn.nn import (
    PADDINGS,
    MinPool2d,
    layer_output_shape,
    make_activation,
    make_conv,
    make_padding,
    make_pool,
    output_size,
)


def brute_min_pool(
    x: torch.Tensor, k: int, s: int, p: int, d: int, ceil_mode: bool
) -> torch.Tensor:
    """Min over each window's in-bounds taps, one output pixel at a time."""
    _, _, h, w = x.shape
    out_h, out_w = output_size(h, k, s, p, d, ceil_mode), output_size(w, k, s, p, d, ceil_mode)
    out = torch.empty(x.shape[0], x.shape[1], out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            rows = [r for r in range(i * s - p, i * s - p + d * k, d) if 0 <= r < h]
            cols = [c for c in range(j * s - p, j * s - p + d * k, d) if 0 <= c < w]
            if not rows or not cols:  # a dilated window over padding only: min of nothing
                out[:, :, i, j] = torch.inf
            else:
                out[:, :, i, j] = x[:, :, rows][:, :, :, cols].amin((2, 3))
    return out


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    d=st.integers(1, 2),
    data=st.data(),
    ceil_mode=st.booleans(),
)
def test_min_pool_equals_a_brute_force_minimum(
    k: int, s: int, d: int, data: st.DataObject, ceil_mode: bool
) -> None:
    p = data.draw(st.integers(0, k // 2))
    h, w = (data.draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 9)) for _ in range(2))
    x = torch.randn(2, 3, h, w)
    torch.testing.assert_close(
        MinPool2d(k, s, p, d, ceil_mode)(x), brute_min_pool(x, k, s, p, d, ceil_mode)
    )


def test_min_pool_keeps_the_darkest_pixel_where_max_keeps_the_brightest() -> None:
    x = torch.tensor([[[[1.0, -2.0], [3.0, 0.5]]]])
    assert make_pool("min", 2)(x).item() == -2.0
    assert make_pool("max", 2)(x).item() == 3.0
    assert make_pool("avg", 2)(x).item() == pytest.approx(0.625)


def test_lp_pool_is_the_p_norm_of_each_window() -> None:
    x = torch.tensor([[[[3.0, 4.0], [0.0, 0.0]]]])
    assert make_pool("lp", 2, norm_type=2)(x).item() == pytest.approx(5.0)
    assert make_pool("lp", 2, norm_type=1)(x).item() == pytest.approx(7.0)
    # padding adds zeros, which add nothing to Σ x^p: the corner window sees only x[0, 0]
    padded = make_pool("lp", 2, padding=1)(x)
    assert padded.shape[-2:] == (2, 2) and padded[0, 0, 0, 0].item() == pytest.approx(3.0)


@pytest.mark.parametrize("padding", [p for p in PADDINGS if p != "valid"])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("size", [7, 8])
def test_padded_convolutions_keep_the_size_at_stride_1(
    padding: str, kernel: int, size: int
) -> None:
    conv = make_conv(2, 3, kernel, padding=padding, padding_value=1.0)
    assert conv(torch.randn(1, 2, size, size)).shape[-2:] == (size, size)
    assert layer_output_shape(conv, (2, size, size)) == (3, size, size)


@pytest.mark.parametrize("padding", ["same", "zeros", "constant", "replicate"])
@pytest.mark.parametrize(
    ("kernel", "stride", "dilation"), [(3, 2, 1), (4, 2, 1), (5, 3, 1), (3, 2, 2)]
)
@pytest.mark.parametrize("size", [9, 10, 11])
def test_same_padding_gives_ceil_of_size_over_stride(
    padding: str, kernel: int, stride: int, dilation: int, size: int
) -> None:
    conv = make_conv(1, 1, kernel, stride=stride, dilation=dilation, padding=padding)
    expected = math.ceil(size / stride)
    assert conv(torch.randn(1, 1, size, size)).shape[-2:] == (expected, expected)
    assert layer_output_shape(conv, (1, size, size)) == (1, expected, expected)


def test_valid_padding_shrinks_by_the_kernel() -> None:
    conv = make_conv(1, 6, 5)
    assert conv(torch.zeros(1, 1, 28, 28)).shape == (1, 6, 24, 24)


@pytest.mark.parametrize("stride", [1, 2])
def test_constant_padding_fills_the_border_with_its_value(stride: int) -> None:
    pad = make_padding("constant", 3, stride=stride, value=7.5)
    out = pad(torch.zeros(1, 1, 5, 5))
    border = torch.ones_like(out, dtype=torch.bool)
    border[..., 1:-1, 1:-1] = False
    assert (out[border] == 7.5).all() and (out[~border] == 0).all()
    # A conv of ones over a zero image: the corner output counts the 5 padded taps.
    conv = make_conv(1, 1, 3, padding="constant", padding_value=2.0)
    torch.nn.init.ones_(conv[1].weight)
    torch.nn.init.zeros_(conv[1].bias)
    out = conv(torch.zeros(1, 1, 5, 5))
    assert out[0, 0, 0, 0].item() == pytest.approx(10.0)
    assert out[0, 0, 0, 2].item() == pytest.approx(6.0) and out[0, 0, 2, 2].item() == 0.0


@pytest.mark.parametrize(
    ("padding", "corner"), [("zeros", 0.0), ("reflect", 5.0), ("replicate", 1.0), ("circular", 9.0)]
)
def test_each_padding_mode_fills_the_corner_as_named(padding: str, corner: float) -> None:
    x = torch.arange(1.0, 10.0).view(1, 1, 3, 3)  # 1 2 3 / 4 5 6 / 7 8 9
    out = make_padding(padding, 3)(x)
    assert out.shape[-2:] == (5, 5)
    assert out[0, 0, 0, 0].item() == corner
    torch.testing.assert_close(out[..., 1:-1, 1:-1], x)


def test_symmetric_zero_padding_is_done_by_the_conv_itself() -> None:
    conv = make_conv(1, 6, 5, padding="same")
    assert isinstance(conv, torch.nn.Conv2d) and conv.padding == (2, 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: make_pool("median"),
            "unknown pool 'median'; allowed: max, avg, min, lp, global_avg",
        ),
        (lambda: make_pool("max", 2, padding=2), "pool padding=2 is not allowed for kernel_size=2"),
        (lambda: make_padding("mirror", 3), "unknown padding 'mirror'; allowed: valid, same"),
        (lambda: make_conv(1, 1, 3, padding="mirror"), "unknown padding 'mirror'"),
        (lambda: make_activation("gelu"), "unknown activation 'gelu'; allowed: relu, tanh"),
    ],
)
def test_bad_names_give_one_clear_config_error(call, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call()
