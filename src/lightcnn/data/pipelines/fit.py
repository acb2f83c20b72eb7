"""Bring images to the model's input: fit to its side, repeat channels, normalise. Written once,
used by both pipelines (one image or a whole batch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lightcnn.models.input_spec import InputSpec


class FitToInput(nn.Module):
    """Float images in [0, 1] at the dataset's side → the network's input (a resolved spec).

    Works on one image (C, H, W) or a batch (N, C, H, W): resized (bilinear, antialiased, as
    ``v2.Resize``) or zero-padded around the image to ``spec.image_size``, 1-channel images
    repeated to ``spec.in_channels``, then ``(x - mean) / std`` computed as ``x·scale + shift``.

    Args:
        spec: the resolved input spec.
        image_size: the side of the dataset's images.
    """

    def __init__(self, spec: InputSpec, image_size: int) -> None:
        super().__init__()
        if not spec.resolved:
            raise ValueError(f"FitToInput needs a resolved InputSpec, got {spec}")
        self.spec = spec
        self.image_size = image_size
        mean = torch.tensor(spec.mean).view(-1, 1, 1)
        std = torch.tensor(spec.std).view(-1, 1, 1)
        self.register_buffer("scale", 1 / std, persistent=False)
        self.register_buffer("shift", -mean / std, persistent=False)

    @property
    def resizes(self) -> bool:
        """Whether the images change side (else only channels and normalisation)."""
        return self.spec.image_size != self.image_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        batch = images if images.dim() == 4 else images.unsqueeze(0)
        size = self.spec.image_size
        if self.resizes:
            if self.spec.fit == "pad" and size > self.image_size:
                border = size - self.image_size
                before, after = border // 2, border - border // 2
                batch = F.pad(batch, (before, after, before, after))
            else:
                batch = F.interpolate(batch, [size, size], mode="bilinear", antialias=True)
        if batch.shape[1] != self.spec.in_channels:
            batch = batch.expand(-1, self.spec.in_channels, -1, -1)
        scale, shift = self._constants(batch.device)
        batch = torch.addcmul(shift, batch, scale)
        return batch if images.dim() == 4 else batch[0]

    def from_uint8(self, images: torch.Tensor) -> torch.Tensor:
        """The same from uint8 (N, C, H, W) images; one fused op when the side stays."""
        if self.resizes:
            return self(images.float().div_(255))
        scale, shift = self._constants(images.device)
        batch = torch.addcmul(shift, images.float(), scale / 255)  # (x/255 - mean) / std
        if batch.shape[1] != self.spec.in_channels:
            batch = batch.expand(-1, self.spec.in_channels, -1, -1)
        return batch

    def _constants(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if self.scale.device != device:
            self.to(device)
        return self.scale, self.shift

    def extra_repr(self) -> str:
        s = self.spec
        return f"{self.image_size} → {s.image_size} ({s.fit}), {s.in_channels} channels"
