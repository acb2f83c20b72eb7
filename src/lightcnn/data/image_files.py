"""Image files (PNG, JPEG, BMP, ... any size, colour or grey) brought to a model's input exactly
as its evaluation data is.

A file is decoded with Pillow and made to look like an image of the model's dataset first —
the dataset's channels (grey ``L`` or ``RGB``) and side (the shorter side resized to it with
antialiasing, then the centre cropped square) — then goes through the same
:class:`~lightcnn.data.pipelines.fit.FitToInput` as the dataset's own test images. A file that
cannot be read yields one :class:`~lightcnn.core.errors.DataError` naming it, never an exception
that stops the others.
"""

from __future__ import annotations

import glob
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as TF

from lightcnn.core.errors import DataError
from lightcnn.data.pipelines.fit import FitToInput
from lightcnn.models.input_spec import InputSpec

if TYPE_CHECKING:
    from lightcnn.data.sources.source import DatasetSource

#: file name endings searched for in folders (explicit files and globs may have any)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: what Pillow raises for a file that is not an image, or a broken one
DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    zlib.error,
    Image.DecompressionBombError,
)


def find_images(inputs: str | Sequence[str]) -> tuple[list[Path], list[Path]]:
    """The files named by ``inputs``: files, folders (searched recursively for image
    suffixes) and globs (``photos/*.jpg``, ``**`` recursive), in order, without repeats.

    Args:
        inputs: one entry or several.

    Returns:
        The files to classify, and the files skipped in folders for their suffix.

    Raises:
        DataError: an entry names nothing, or nothing at all was found.
    """
    entries = [inputs] if isinstance(inputs, str) else list(inputs)
    files: dict[Path, None] = {}
    skipped: list[Path] = []
    for entry in entries:
        path = Path(str(entry)).expanduser()
        if path.is_dir():
            for found in sorted(p for p in path.rglob("*") if p.is_file()):
                if found.suffix.lower() in IMAGE_SUFFIXES:
                    files[found.resolve()] = None
                elif not any(part.startswith(".") for part in found.relative_to(path).parts):
                    skipped.append(found)
        elif path.is_file():
            files[path.resolve()] = None
        elif glob.has_magic(str(path)):
            matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
            matches = [p for p in matches if p.is_file()]
            if not matches:
                raise DataError(f"inputs={entry}: no file matches this pattern")
            files.update((p.resolve(), None) for p in matches)
        else:
            raise DataError(f"inputs={entry}: no such file or folder")
    if not files:
        raise DataError(
            f"inputs={inputs}: no image file found (searched for {', '.join(IMAGE_SUFFIXES)})"
        )
    return list(files), skipped


def read_image(path: Path, channels: int, side: int) -> torch.Tensor:
    """Decode an image file into a uint8 (channels, side, side) tensor, as the dataset's images.

    Args:
        path: the file.
        channels: the dataset's channels (1: grey, 3: RGB).
        side: the dataset's image side.

    Raises:
        DataError: naming the file, when it is not an image Pillow can read or is broken.
    """
    try:
        with Image.open(path) as opened:
            opened.load()  # decodes everything now: a truncated file fails here
            image = ImageOps.exif_transpose(opened)
            pixels = _to_mode(image, "L" if channels == 1 else "RGB")
    except UnidentifiedImageError:
        raise DataError(
            f"{path} is not an image file (Pillow recognises no image format in it)"
        ) from None
    except DECODE_ERRORS as error:
        raise DataError(f"{path} could not be read as an image: {error}") from None
    tensor = TF.pil_to_tensor(pixels)
    tensor = TF.resize(tensor, [side], antialias=True)  # the shorter side → side
    return TF.center_crop(tensor, [side, side])


def has_light_background(pixels: torch.Tensor) -> bool:
    """Whether an image's border (its outermost rows and columns) is mostly light, as a photo
    of dark ink on paper is.

    Args:
        pixels: a uint8 (channels, height, width) image.
    """
    border = torch.cat(
        [pixels[..., 0, :], pixels[..., -1, :], pixels[..., :, 0], pixels[..., :, -1]], dim=-1
    )
    return border.float().mean().item() > 127.5


def _to_mode(image: Image.Image, mode: str) -> Image.Image:
    """``image`` in ``mode``; 16- and 32-bit grey scaled to 8 bits (Pillow would clip them),
    transparency composited over black."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(values.max(), 1.0)
        image = Image.fromarray(np.clip(values / top * 255.0, 0, 255).round().astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return image.convert(mode)


#: ``invert`` values: ``auto`` inverts light-background images for a light-on-dark dataset
INVERT_CHOICES = ("auto", True, False)


class ImageFiles(Dataset):
    """Image files as the model's input: items ``(image, ok, error, inverted)``.

    A file that cannot be read gives a zero image, ``ok=False`` and the error message, so a
    batch always forms and the other files are still classified.

    Args:
        files: the image files.
        spec: the model's resolved input.
        source: the model's dataset (its side and channels come first).
        invert: ``auto``: for a light-on-dark dataset (MNIST), invert an image whose border
            is light (dark ink on paper); ``True``: invert every image; ``False``: none.
    """

    def __init__(
        self,
        files: Sequence[Path],
        spec: InputSpec,
        source: DatasetSource | type[DatasetSource],
        invert: str | bool = "auto",
    ) -> None:
        self.files = list(files)
        self.spec = spec
        self.channels = source.channels
        self.side = source.image_size
        self.fit = FitToInput(spec, source.image_size)
        self.invert = invert
        self.auto_invert = invert == "auto" and source.light_on_dark

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, bool, str, bool]:
        try:
            pixels = read_image(self.files[index], self.channels, self.side)
        except DataError as error:
            size = self.spec.image_size
            return torch.zeros(self.spec.in_channels, size, size), False, str(error), False
        inverted = self.invert is True or (self.auto_invert and has_light_background(pixels))
        if inverted:
            pixels = 255 - pixels
        return self.fit(pixels.float().div(255)), True, "", inverted
