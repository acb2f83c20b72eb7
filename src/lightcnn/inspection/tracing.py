"""Run a model once and record what each of its layers received and produced (forward hooks).

Shared by the summary table and the feature-map figures. A "layer" is a module without
children, or a composite that the shape arithmetic treats as one unit (it defines
``output_shape``, e.g. LeNet-5's C3 partial convolution); Sequentials are looked into.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Traced:
    """One layer call: its qualified name, the module, its input shape and its output."""

    name: str
    module: nn.Module
    input_shape: tuple[int, ...]
    output: torch.Tensor


def layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's layers with their qualified names, in registration order.

    Args:
        model: any module.
    """
    found: list[tuple[str, nn.Module]] = []
    units: list[str] = []
    for name, module in model.named_modules():
        if not name or any(name.startswith(unit + ".") for unit in units):
            continue
        if not any(module.children()) or hasattr(module, "output_shape"):
            found.append((name, module))
            units.append(name)
    return found


@torch.no_grad()
def trace(model: nn.Module, x: torch.Tensor) -> list[Traced]:
    """Run ``model(x)`` in eval mode and return each layer call in execution order.

    Shapes are without the batch dimension; outputs keep it. The model's train/eval mode is
    restored afterwards.

    Args:
        model: the model.
        x: a batch of inputs.
    """
    calls: list[Traced] = []

    def record(name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            # clone: a following in-place layer (ReLU(inplace=True)) would overwrite it
            output = output.detach().clone()
            calls.append(Traced(name, module, tuple(inputs[0].shape[1:]), output))

        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in layers(model)]
    was_training = model.training
    model.eval()
    try:
        model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return calls
