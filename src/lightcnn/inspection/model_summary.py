"""Per-layer table of a network: output shape, parameters, multiply-adds, receptive field.

``python -m lightcnn.summary`` prints it for a configured model; :func:`summarize` returns the
rows for any ``nn.Module``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from rich.table import Table
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lightcnn.inspection.tracing import trace
from lightcnn.nn.arithmetic import Field, is_sliding_window, next_field


@dataclass(frozen=True)
class Row:
    """One layer of the table.

    Attributes:
        name: qualified module name inside the model.
        kind: the module's class name.
        shape: output shape without the batch dimension.
        params: parameters held by the layer.
        macs: multiply-adds of one forward pass of one image (convolutions and linear layers).
        field: receptive field and jump of the layer's units.
        window: whether the layer is a convolution or a pooling layer.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    params: int
    macs: int
    field: Field
    window: bool


@dataclass(frozen=True)
class Summary:
    """Per-layer rows of a model for one input shape, and the totals."""

    model: str
    input_shape: tuple[int, int, int]
    rows: list[Row]
    params: int
    trainable_params: int
    macs: int

    def spatial_sizes(self) -> list[int]:
        """Map height at the input and after every conv / pool layer: [28, 24, 12, 8, 4]."""
        return [self.input_shape[1]] + [row.shape[1] for row in self.rows if row.window]


def summarize(model: nn.Module, input_shape: tuple[int, int, int]) -> Summary:
    """Trace one forward pass of a zero image of ``input_shape`` through ``model``.

    Shapes come from the traced forward pass, multiply-adds from PyTorch's FLOP counter (one
    multiply-add is two FLOPs), receptive fields from ``lightcnn.nn.arithmetic``.

    Args:
        model: a plain ``nn.Module`` (e.g. ``ImageClassifier.net``).
        input_shape: (C, H, W) of one image.
    """
    x = torch.zeros(1, *input_shape)
    with FlopCounterMode(display=False) as counter:
        calls = trace(model, x)
    flops = counter.get_flop_counts()
    root = type(model).__name__
    rows: list[Row] = []
    field, shape = Field(), tuple(input_shape)
    for call in calls:
        # A forward that flattens with torch.flatten hands a linear layer a 1-d input; the
        # previous layer's map shape tells the arithmetic that this layer sees the whole map.
        if math.prod(shape) != math.prod(call.input_shape):
            shape = call.input_shape
        field = next_field(call.module, shape, field)
        shape = tuple(call.output.shape[1:])
        rows.append(
            Row(
                name=call.name,
                kind=type(call.module).__name__,
                shape=shape,
                params=sum(p.numel() for p in call.module.parameters()),
                macs=sum(flops.get(f"{root}.{call.name}", {}).values()) // 2,
                field=field,
                window=is_sliding_window(call.module),
            )
        )
    return Summary(
        model=root,
        input_shape=input_shape,
        rows=rows,
        params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        macs=counter.get_total_flops() // 2,
    )


def render(summary: Summary) -> Table:
    """The summary as a rich table, totals in the footer."""
    table = Table(
        title=f"{summary.model} on {_shape(summary.input_shape)} input",
        caption="RF: receptive field of one unit in input pixels (padding included); "
        "jump: input pixels between neighbouring units",
        show_footer=True,
    )
    table.add_column("layer", footer="total", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("output shape", footer=_shape(summary.rows[-1].shape), no_wrap=True)
    table.add_column("params", footer=f"{summary.params:,}", justify="right")
    table.add_column("mult-adds", footer=f"{summary.macs:,}", justify="right")
    table.add_column("RF", justify="right")
    table.add_column("jump", justify="right")
    table.add_row("input", "", _shape(summary.input_shape), "", "", "1", "1")
    for row in summary.rows:
        spatial = len(row.shape) == 3
        table.add_row(
            row.name,
            row.kind,
            _shape(row.shape),
            f"{row.params:,}",
            f"{row.macs:,}",
            str(row.field.size),
            str(row.field.jump) if spatial else "–",
        )
    return table


def _shape(shape: Sequence[int]) -> str:
    return "×".join(str(n) for n in shape)
