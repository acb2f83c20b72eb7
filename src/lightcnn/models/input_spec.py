"""The input contract between a model and the data: what the network takes, and how a dataset's
images are brought to it.

The model side owns it, in the spirit of torchvision's ``Weights.transforms()``: a model config
states what its architecture needs (``model.input``: a fixed side, 3 channels, padding rather
than resizing), pretrained weights add their normalisation (:mod:`lightcnn.models.pretrained`),
and the data module fills in what is left open from its dataset (its own side, channels and
statistics) with :meth:`InputSpec.resolve`. The resolved spec is what the data pipelines
deliver, what the network is built for, and what a checkpoint carries (as primitives, in the
``input`` hyperparameter), so evaluation and prediction rebuild the same preprocessing from the
checkpoint alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from lightcnn.core.errors import ConfigError

#: How a dataset's images are brought to another side: resized (bilinear, antialiased), or
#: zero-padded around the image (LeNet-5 1998: MNIST's 28×28 digits in a 32×32 field).
FITS = ("resize", "pad")


@dataclass(frozen=True)
class InputSpec:
    """What a network takes. ``None`` leaves a field to the dataset (see :meth:`resolve`).

    Args:
        image_size: side of the square images the network takes.
        in_channels: channels the network takes; 1-channel images are repeated to 3.
        fit: how images of another side are brought to ``image_size``: ``resize`` or ``pad``
            (``pad`` only enlarges; a smaller target is resized).
        mean: per-channel normalisation mean (of images scaled to [0, 1]).
        std: per-channel normalisation standard deviation.
    """

    image_size: int | None = None
    in_channels: int | None = None
    fit: str = "resize"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        # tuples, so a spec is hashable and compares equal whatever sequence it was given
        for name in ("mean", "std"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(float(v) for v in value))
        self.check()

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | InputSpec | None) -> InputSpec:
        """A spec from a config node or a checkpoint's ``input`` hyperparameter.

        Args:
            values: a mapping with some of the fields (missing ones are None), or a spec.
        """
        if values is None:
            return cls()
        if isinstance(values, InputSpec):
            return values
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            allowed = ", ".join(cls.__dataclass_fields__)
            raise ConfigError(
                f"model.input.{unknown[0]} is not an input option; allowed: {allowed}"
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Primitives only (lists for mean/std): safe in a ``weights_only`` checkpoint."""
        values = asdict(self)
        for name in ("mean", "std"):
            if values[name] is not None:
                values[name] = list(values[name])
        return values

    @property
    def resolved(self) -> bool:
        """Whether every field is set (the spec a network is built for)."""
        return None not in (self.image_size, self.in_channels, self.mean, self.std)

    def check(self) -> None:
        """Raise :class:`ConfigError` naming the field when a value cannot work."""
        if self.fit not in FITS:
            raise ConfigError(
                f"model.input.fit={self.fit!r} is unknown; allowed: {', '.join(FITS)}"
            )
        if self.image_size is not None and not (_is_int(self.image_size) and self.image_size > 0):
            raise ConfigError(
                f"model.input.image_size={self.image_size!r} is not allowed: it must be a "
                "positive integer (or null: the dataset's own)"
            )
        if self.in_channels not in (None, 1, 3):
            raise ConfigError(
                f"model.input.in_channels={self.in_channels!r} is not allowed: it must be 1, 3 "
                "(or null: the dataset's own)"
            )
        if (self.mean is None) != (self.std is None) or (
            self.mean is not None and len(self.mean) != len(self.std)
        ):
            raise ConfigError(
                "model.input.mean and model.input.std must be given together, one value per "
                "channel each"
            )
        if self.std is not None and any(s <= 0 for s in self.std):
            raise ConfigError(f"model.input.std={list(self.std)} is not allowed: every value > 0")

    def resolve(self, dataset: DatasetFacts) -> InputSpec:
        """The complete spec for a dataset: open fields take the dataset's values. The one place
        the contract is resolved (by the data module, config validation and predict alike).

        The dataset's statistics are repeated when its 1-channel images are repeated to 3.

        Args:
            dataset: the dataset's facts (a ``DatasetSource`` class or instance).
        """
        channels = self.in_channels or dataset.channels
        if channels != dataset.channels and dataset.channels != 1:
            raise ConfigError(
                f"model.input.in_channels={channels} but {dataset.name} has {dataset.channels}"
                f"-channel images; allowed: {dataset.channels} (only 1-channel images are "
                "repeated)"
            )
        side = self.image_size or dataset.image_size
        if self.mean is None:
            repeat = channels // len(dataset.mean)
            return replace(
                self,
                image_size=side,
                in_channels=channels,
                mean=tuple(dataset.mean) * repeat,
                std=tuple(dataset.std) * repeat,
            )
        if len(self.mean) != channels:
            raise ConfigError(
                f"model.input.mean has {len(self.mean)} values for {channels}-channel inputs"
            )
        return replace(self, image_size=side, in_channels=channels)


class DatasetFacts(Protocol):
    """What :meth:`InputSpec.resolve` reads of a dataset (``lightcnn.data.DatasetSource``)."""

    name: str
    image_size: int
    channels: int
    mean: Sequence[float]
    std: Sequence[float]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
