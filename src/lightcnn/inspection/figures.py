"""Figures of a network's internals: the feature maps one image produces after each convolution
and pooling layer, and the filters of the first convolution.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``, rendered by Agg),
so nothing depends on pyplot's global state or a display.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from matplotlib.figure import Figure
from torch import nn

from lightcnn.inspection.tracing import trace
from lightcnn.nn.arithmetic import is_sliding_window


def feature_maps(model: nn.Module, image: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """The maps after each conv / pool layer for one image, in execution order.

    Args:
        model: the model (run in eval mode, without gradients).
        image: one image (C, H, W), already normalized as the model expects.

    Returns:
        (layer name, maps of shape (channels, H, W)) pairs.
    """
    device = next(model.parameters(), torch.empty(0)).device
    calls = trace(model, image.unsqueeze(0).to(device))
    return [(call.name, call.output[0].cpu()) for call in calls if is_sliding_window(call.module)]


def feature_map_figure(model: nn.Module, image: torch.Tensor, max_maps: int = 16) -> Figure:
    """A grid figure: the input on the first row, then one row of maps per conv / pool layer.

    The maps of one layer share a color scale (viridis: dark low, yellow high).

    Args:
        model: the model.
        image: one image (C, H, W).
        max_maps: at most this many maps (the first ones) are shown per layer.
    """
    layers = feature_maps(model, image)
    columns = max(1, min(max_maps, max((maps.shape[0] for _, maps in layers), default=1)))
    figure = Figure(figsize=(1.1 * columns + 1.5, 1.2 * (len(layers) + 1)), layout="constrained")
    axes = figure.subplots(len(layers) + 1, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    axes[0, 0].imshow(_displayable(image.detach().cpu()).numpy(), cmap="gray")
    axes[0, 0].set_title(f"input {_size(image)}", fontsize=7, loc="left")
    for row, (name, maps) in enumerate(layers, start=1):
        # One color scale per layer, so its maps compare (and 1×1 maps still say something).
        low, high = maps.min().item(), maps.max().item()
        for column in range(min(columns, maps.shape[0])):
            axes[row, column].imshow(maps[column].numpy(), cmap="viridis", vmin=low, vmax=high)
        axes[row, 0].set_title(f"{name} {_size(maps)}", fontsize=7, loc="left")
    return figure


def render_feature_maps(
    model: nn.Module, image: torch.Tensor, path: str | Path, max_maps: int = 16
) -> Path:
    """Write the feature-map figure of ``image`` as a PNG.

    Args:
        model: the model.
        image: one image (C, H, W).
        path: the PNG file to write (its folder is created).
        max_maps: at most this many maps are shown per layer.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    feature_map_figure(model, image, max_maps).savefig(path, format="png", dpi=100)
    return path


def _displayable(image: torch.Tensor) -> torch.Tensor:
    """(H, W) for one channel, (H, W, 3) scaled to [0, 1] for color (imshow's RGB range)."""
    if image.shape[0] == 1:
        return image[0]
    low, high = image.min(), image.max()
    return ((image - low) / (high - low).clamp_min(1e-8)).permute(1, 2, 0)


def _size(maps: torch.Tensor) -> str:
    return "×".join(str(n) for n in maps.shape)


def first_conv(model: nn.Module) -> nn.Conv2d | None:
    """The first 2-d convolution of a model (in registration order), or None."""
    return next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)


def filters_figure(weight: torch.Tensor, title: str = "") -> Figure:
    """The filters of a convolution as a grid of small images.

    RGB filters (3 input channels) are shown in colour, each scaled to its own range; others show
    their first input channel on one diverging scale centred on 0 (red positive, blue negative),
    shared by all filters so their strengths compare.

    Args:
        weight: the convolution's weight, shape (out, in, kH, kW).
        title: the figure title (default: count, size and channels).
    """
    weight = weight.detach().float().cpu()
    count, channels = weight.shape[:2]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(0.9 * columns + 0.8, 0.9 * rows + 0.7), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    limit = max(weight.abs().max().item(), 1e-8)
    for i in range(count):
        ax = axes.flat[i]
        if channels == 3:
            ax.imshow(_displayable(weight[i]).numpy(), interpolation="nearest")
        else:
            shown = ax.imshow(
                weight[i, 0].numpy(),
                cmap="RdBu_r",
                vmin=-limit,
                vmax=limit,
                interpolation="nearest",
            )
    if channels != 3:
        figure.colorbar(shown, ax=axes, shrink=0.6, label="weight")
    size = "×".join(str(n) for n in weight.shape[2:])
    figure.suptitle(
        title
        or f"First convolution: {count} filters {size}, {channels} input channel"
        + ("s" if channels > 1 else ""),
        fontsize=9,
    )
    return figure
