"""The files of an image folder, and what they hold: listed the way torchvision's
``ImageFolder`` lists them, decoded once, summarised and cached.

- :func:`list_folder`: ``root/<split>/<class>/**/<image>`` for each split folder present,
  with torchvision's ``find_classes`` and ``make_dataset``; every way the layout can be wrong
  is one :class:`DataError` naming the folder.
- :func:`read_headers`: each file's size and mode, read from its header (no decoding).
- :func:`decode_folder`: every file decoded once at the dataset's side and channels, with its
  per-channel sums (the training split's mean/std come from them) and, for the tensor
  pipeline, the uint8 pixels; unreadable files are named or counted.
- :class:`FolderCache`: those results on disk, keyed by the file list, sizes and modification
  times (a changed folder is read again), loaded with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets.folder import find_classes, make_dataset

from lightcnn.core.errors import DataError
from lightcnn.core.io import atomic_path
from lightcnn.data.image_files import DECODE_ERRORS, IMAGE_SUFFIXES, read_image
from lightcnn.data.sources.source import SPLITS

log = logging.getLogger("lightcnn")

#: Pillow modes of grey images (any other mode is read as RGB)
GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
#: bumped when the cached content changes shape
CACHE_VERSION = 1


@dataclass
class FolderListing:
    """The image files of each split folder, with their labels (train's class indices).

    Args:
        root: the folder holding ``train/`` (and ``val/``, ``test/``).
        classes: the class names, sorted (the folders of ``train/``).
        files: split → the files, in ``make_dataset``'s order.
        labels: split → the class index of each file.
    """

    root: Path
    classes: tuple[str, ...]
    files: dict[str, list[Path]] = field(default_factory=dict)
    labels: dict[str, list[int]] = field(default_factory=dict)

    def key(self) -> str:
        """A digest of every file's path, size and modification time: a changed folder (a
        file added, removed, replaced or touched) has another key."""
        digest = hashlib.sha256(str(self.root).encode())
        for split, files in self.files.items():
            for path, label in zip(files, self.labels[split], strict=True):
                stat = path.stat()
                line = f"{split}\t{path.relative_to(self.root)}\t{label}\t{stat.st_size}"
                digest.update(f"{line}\t{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:20]

    def count(self) -> int:
        return sum(len(files) for files in self.files.values())


def class_name_problem(name: str) -> str | None:
    """Why a folder name cannot be a class name (a label people read), or None."""
    if name.startswith("."):
        return "a hidden folder"
    if name != name.strip():
        return "it starts or ends with a space"
    if any(not ch.isprintable() for ch in name):
        return "it holds a control character"
    return None


def _is_image(path: str) -> bool:
    name = os.path.basename(path)
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def list_folder(root: Path) -> FolderListing:
    """List ``root``'s image files as torchvision's ``ImageFolder`` does, checking the layout.

    Args:
        root: the image folder (``data.root``).

    Raises:
        DataError: one line naming the folder: no root or ``train/``, a class name that is not
            valid, fewer than two classes, an empty class folder, a ``val/`` or ``test/`` class
            that ``train/`` lacks, a split folder without class folders.
    """
    if not root.is_dir():
        raise DataError(
            f"data.root={root}: no such folder; it must hold train/<class>/<images> "
            "(and optionally val/ and test/ alike)"
        )
    if not (root / "train").is_dir():
        found = ", ".join(sorted(p.name + "/" for p in root.iterdir() if p.is_dir())[:5])
        raise DataError(
            f"{root} has no train/ folder (it has {found or 'no folder'}); an image folder is "
            "root/train/<class>/<images>, with optional root/val/ and root/test/ alike"
        )
    listing = FolderListing(root, ())
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            continue
        names = _class_folders(folder)
        if split == "train":
            if len(names) < 2:
                raise DataError(
                    f"{folder} has {len(names)} class folder ({', '.join(names)}): a classifier "
                    "needs at least two, one folder of images per class"
                )
            listing.classes = tuple(names)
        unknown = sorted(set(names) - set(listing.classes))
        if unknown:
            raise DataError(
                f"{folder / unknown[0]} is a class that {root / 'train'} does not have; "
                f"{split}/ may hold only the classes of train/: {', '.join(listing.classes)}"
            )
        index = {name: listing.classes.index(name) for name in names}
        found = make_dataset(str(folder), index, is_valid_file=_is_image, allow_empty=True)
        counts = {name: 0 for name in names}
        for _, label in found:
            counts[listing.classes[label]] += 1
        empty = [name for name, count in counts.items() if count == 0]
        if not found:
            raise DataError(
                f"{folder} holds no image file at all in its class folders (searched for "
                f"{', '.join(IMAGE_SUFFIXES)})"
            )
        if empty:
            raise DataError(
                f"{folder / empty[0]} holds no image file (searched for "
                f"{', '.join(IMAGE_SUFFIXES)}); remove the folder or fill it"
            )
        listing.files[split] = [Path(path) for path, _ in found]
        listing.labels[split] = [label for _, label in found]
    return listing


def _class_folders(folder: Path) -> list[str]:
    try:
        names, _ = find_classes(folder)
    except FileNotFoundError:
        images = [p.name for p in folder.iterdir() if p.is_file() and _is_image(p.name)]
        where = f" (it holds {len(images)} image files directly)" if images else ""
        raise DataError(
            f"{folder} has no class folder{where}: put each class's images in "
            f"{folder}/<class name>/"
        ) from None
    for name in names:
        problem = class_name_problem(name)
        if problem:
            raise DataError(
                f"{folder / name} cannot be a class: {problem}; rename it or move it out of "
                f"{folder}"
            )
    return names


@dataclass
class Headers:
    """What the files' headers say: each file's (width, height) and Pillow mode."""

    sizes: list[tuple[int, int]]
    modes: list[str]
    bad: dict[int, str]  # position in the listing → why it cannot be read


def read_headers(files: Sequence[Path]) -> Headers:
    """Open each file without decoding it: its size and mode, or why it is not an image.

    Args:
        files: every file of the listing, in order.
    """
    sizes: list[tuple[int, int]] = []
    modes: list[str] = []
    bad: dict[int, str] = {}
    for position, path in enumerate(files):
        try:
            with Image.open(path) as image:
                sizes.append(image.size)
                modes.append(image.mode)
        except DECODE_ERRORS as error:
            bad[position] = f"{path} is not an image Pillow can read ({error})"
            sizes.append((0, 0))
            modes.append("")
    return Headers(sizes, modes, bad)


@dataclass
class Decoded:
    """Every file of a listing decoded once at one side and channel count.

    Args:
        sums: per file, the sum of its pixel values per channel (uint8 scale), float64.
        squares: per file, the sum of the squared pixel values per channel, float64.
        dark_border: per file, whether its border (outermost rows and columns) is dark.
        bad: position → why the file could not be decoded.
        images: the uint8 pixels (N, C, side, side) when kept (the tensor pipeline), else None.
    """

    sums: torch.Tensor
    squares: torch.Tensor
    dark_border: torch.Tensor
    bad: dict[int, str]
    images: torch.Tensor | None = None
    seconds: float = 0.0


class _DecodeFiles(Dataset):
    """Items ``(pixels, ok, error)`` of each file: decoded in loader workers when asked."""

    def __init__(self, files: Sequence[Path], channels: int, side: int) -> None:
        self.files, self.channels, self.side = list(files), channels, side

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, bool, str]:
        try:
            return read_image(self.files[index], self.channels, self.side), True, ""
        except DataError as error:
            blank = torch.zeros(self.channels, self.side, self.side, dtype=torch.uint8)
            return blank, False, str(error)


def decode_folder(
    files: Sequence[Path], channels: int, side: int, *, keep_images: bool, num_workers: int = 0
) -> Decoded:
    """Decode every file (the dataset's look: ``image_files.read_image``), summing its pixels.

    Args:
        files: every file of the listing, in order.
        channels: 1 (grey) or 3 (RGB).
        side: the side every image is brought to.
        keep_images: keep the uint8 pixels (the tensor pipeline's cache).
        num_workers: loader processes decoding in parallel.
    """
    start = time.perf_counter()
    count = len(files)
    sums = torch.zeros(count, channels, dtype=torch.float64)
    squares = torch.zeros(count, channels, dtype=torch.float64)
    dark = torch.zeros(count, dtype=torch.bool)
    images = torch.zeros(count, channels, side, side, dtype=torch.uint8) if keep_images else None
    bad: dict[int, str] = {}
    loader = DataLoader(
        _DecodeFiles(files, channels, side), batch_size=256, num_workers=num_workers
    )
    position = 0
    for pixels, ok, errors in loader:
        end = position + len(pixels)
        values = pixels.to(torch.float64)
        sums[position:end] = values.sum(dim=(2, 3))
        squares[position:end] = values.square().sum(dim=(2, 3))
        border = torch.cat(
            [pixels[..., 0, :], pixels[..., -1, :], pixels[..., :, 0], pixels[..., :, -1]], -1
        )
        dark[position:end] = border.float().mean(dim=(1, 2)) < 64
        if images is not None:
            images[position:end] = pixels
        for offset, (good, error) in enumerate(zip(ok.tolist(), errors, strict=True)):
            if not good:
                bad[position + offset] = error
        position = end
    return Decoded(sums, squares, dark, bad, images, time.perf_counter() - start)


class FolderCache:
    """The decoded summary (and pixels) of one listing, on disk under ``cache_dir``.

    One folder per listing key (``<root name>-<key>``), one file per decoding (side and
    channels): ``decoded-<side>x<channels>.pt``. Written atomically, read with
    ``weights_only=True``; an entry that cannot be read (two writers at once, a full disk) is
    decoded again.

    Args:
        cache_dir: where caches go (``data.cache_dir``).
        listing: the folder's listing.
    """

    def __init__(self, cache_dir: Path, listing: FolderListing) -> None:
        self.folder = cache_dir / f"{listing.root.name}-{listing.key()}"

    def path(self, side: int, channels: int) -> Path:
        return self.folder / f"decoded-{side}x{channels}.pt"

    def load(self, side: int, channels: int, *, need_images: bool) -> Decoded | None:
        """The cached decoding, or None when there is none (with pixels, if needed)."""
        path = self.path(side, channels)
        if not path.is_file():
            return None
        try:
            payload: dict[str, Any] = torch.load(path, weights_only=True)
        except (RuntimeError, OSError, EOFError, pickle.UnpicklingError):
            # a cache is disposable: a torn or foreign file is decoded again
            log.debug("ignoring the unreadable cache %s", path)
            return None
        if payload.get("version") != CACHE_VERSION or (need_images and "images" not in payload):
            return None
        bad = {int(k): v for k, v in payload["bad"].items()}
        return Decoded(
            payload["sums"], payload["squares"], payload["dark_border"], bad, payload.get("images")
        )

    def save(self, side: int, channels: int, decoded: Decoded) -> int:
        """Write the decoding atomically; return the file's size in bytes (0: not written)."""
        payload: dict[str, Any] = {
            "version": CACHE_VERSION,
            "sums": decoded.sums,
            "squares": decoded.squares,
            "dark_border": decoded.dark_border,
            "bad": {str(k): v for k, v in decoded.bad.items()},
        }
        if decoded.images is not None:
            payload["images"] = decoded.images
        path = self.path(side, channels)
        try:
            with atomic_path(path) as partial:
                torch.save(payload, partial)
        except OSError as error:  # an unwritable cache folder costs a decode next time only
            log.warning("could not cache the decoded images in %s (%s)", path, error)
            return 0
        return path.stat().st_size
