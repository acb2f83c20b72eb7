"""Pretrained weights: torchvision's ImageNet AlexNet, read through torchvision's own loader.

The weights object owns what goes with the weights, as torchvision's ``Weights`` do: where the
file lives, and the preprocessing the network was trained with (:func:`pretrained_input`), which
the data module then applies. Missing or wrong files never fall back to random weights: they
raise a ``WeightsError`` naming the file and the ``model.weights_path`` option.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import torch
from torchvision.models import AlexNet_Weights

from lightcnn.core.errors import WeightsError
from lightcnn.models.input_spec import InputSpec

#: The ImageNet weights ``model.pretrained=true`` loads, through torchvision's own API.
PRETRAINED_WEIGHTS = AlexNet_Weights.IMAGENET1K_V1


def pretrained_input(spec: InputSpec) -> InputSpec:
    """``spec`` with the pretrained weights' own normalisation (ImageNet mean/std) and 3 channels.

    A mean/std set explicitly in ``model.input`` is kept.

    Args:
        spec: the architecture's input requirement.
    """
    preset = PRETRAINED_WEIGHTS.transforms()
    if spec.mean is not None:
        return replace(spec, in_channels=3)
    return replace(spec, in_channels=3, mean=tuple(preset.mean), std=tuple(preset.std))


HEAD = "classifier.6."  # the last Linear of torchvision's AlexNet, replaced by a new head


def hub_cache_file() -> Path:
    """The file torchvision's loader reads and downloads into.

    ``$TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth``; ``TORCH_HOME`` defaults to
    ``~/.cache/torch``.
    """
    filename = Path(urlparse(PRETRAINED_WEIGHTS.url).path).name
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def load_pretrained_state(weights_path: str | None = None) -> tuple[dict[str, torch.Tensor], str]:
    """The pretrained AlexNet state dict and where it came from.

    A local ``weights_path`` is read with ``torch.load(weights_only=True)``; otherwise
    torchvision's ``AlexNet_Weights.IMAGENET1K_V1.get_state_dict`` reads its hub cache or
    downloads into it. Any failure is a ``WeightsError`` that names the cache file and the
    ``model.weights_path`` option: there is no fallback to random weights.

    Args:
        weights_path: a state dict file, or None for torchvision's weights.
    """
    cache = hub_cache_file()
    advice = (
        f"put {PRETRAINED_WEIGHTS.url} at {cache} (TORCH_HOME moves that folder), or set "
        "model.weights_path=/path/to/alexnet.pth to load a local state dict"
    )
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise WeightsError(f"model.weights_path={weights_path} is not a file; {advice}")
        state = _read(lambda: torch.load(path, map_location="cpu", weights_only=True), path)
        return state, str(path)
    if cache.is_file():
        return _read(lambda: _from_torchvision(progress=False), cache), str(cache)
    try:
        return _from_torchvision(progress=True), str(cache)
    except Exception as error:  # no network, proxy, HTTP or hash errors: one advice for all
        raise WeightsError(
            f"pretrained AlexNet weights are not cached and the download failed "
            f"({type(error).__name__}: {error}); {advice}"
        ) from error


def _from_torchvision(progress: bool) -> dict[str, torch.Tensor]:
    # torchvision's real loading path (hub cache, download, hash check), weights only.
    return PRETRAINED_WEIGHTS.get_state_dict(progress=progress, check_hash=True, weights_only=True)


def _read(load: Callable[[], object], path: Path) -> dict[str, torch.Tensor]:
    try:
        state = load()
    except Exception as error:  # truncated file, not a torch file, pickled objects
        raise WeightsError(
            f"{path} could not be read as a state dict with torch.load(weights_only=True) "
            f"({type(error).__name__}: {error})"
        ) from error
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def check_state_dict(
    state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], source: str
) -> None:
    """Raise one ``WeightsError`` listing missing keys, unexpected keys and wrong shapes.

    Args:
        state: the state dict read from a file.
        expected: the model's own state dict (the keys and shapes it needs).
        source: the file, for the message.
    """
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    wrong = [
        f"{key} {tuple(getattr(state[key], 'shape', ()))} (expected {tuple(expected[key].shape)})"
        for key in sorted(expected.keys() & state.keys())
        if not isinstance(state[key], torch.Tensor) or state[key].shape != expected[key].shape
    ]
    problems = [
        f"{label}: {', '.join(items[:4])}{' …' if len(items) > 4 else ''}"
        for label, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("wrong shapes", wrong),
        )
        if items
    ]
    if problems:
        raise WeightsError(
            f"{source} does not hold torchvision AlexNet weights ({'; '.join(problems)})"
        )
