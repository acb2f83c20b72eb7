"""An image folder of one's own (``data=folder data.root=<folder>``): its facts come from its
files.

Layout (torchvision's ``ImageFolder`` convention, any format Pillow reads)::

    root/train/<class>/<images>     the classes are these folder names, sorted
    root/val/<class>/<images>       optional: else a seeded split of train/ (data.val_size)
    root/test/<class>/<images>      optional: else the run reports validation only

Channels (grey if every image is, else RGB, or ``data.channels``), side (the images' own when
they share one, else ``data.image_size``) and the training split's mean/std are found in the
files (:mod:`~lightcnn.data.sources.folder_files`, cached) and recorded with :meth:`facts`,
so a checkpoint rebuilds the same data without reading the folder (``facts=``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from lightcnn.core.errors import ConfigError, DataError
from lightcnn.data.image_files import read_image
from lightcnn.data.pipelines import TENSOR_LIMIT_BYTES, choose_pipeline
from lightcnn.data.sources.folder_files import (
    GREY_MODES,
    Decoded,
    FolderCache,
    FolderListing,
    decode_folder,
    list_folder,
    read_headers,
)
from lightcnn.data.sources.source import DatasetSource
from lightcnn.data.split import split_indices, validation_count

log = logging.getLogger("lightcnn")

#: a finished look at a folder, per (root, options): validation and the data module of one
#: process share it instead of listing and decoding twice
_SCANNED: dict[tuple[Any, ...], FolderScan] = {}


class FolderScan:
    """One look at an image folder: its listing, its images' side and channels, their decoding.

    Args:
        listing: the folder's files by split.
        side: the side images are brought to.
        channels: 1 or 3.
        decoded: every file decoded (unreadable ones removed from ``listing``).
        cached: where the decoding is cached, its size in bytes, and whether it was decoded
            now (else read from the cache).
    """

    def __init__(
        self,
        listing: FolderListing,
        side: int,
        channels: int,
        decoded: Decoded,
        cached: tuple[Path, int, bool],
        skipped: list[str],
    ) -> None:
        self.listing, self.side, self.channels, self.decoded = listing, side, channels, decoded
        self.cached = cached
        self.skipped = skipped
        self.reported = False
        # each split's rows of the decoding (after unreadable files were left out)
        self.rows: dict[str, torch.Tensor] = {}
        start = 0
        for split, files in listing.files.items():
            self.rows[split] = torch.arange(start, start + len(files))
            start += len(files)


class FolderSource(DatasetSource):
    """An image folder: ``root/train/<class>/*``, optional ``root/val/`` and ``root/test/``.

    Args:
        root: the folder holding ``train/``.
        image_size: the side images are brought to (shorter side resized, centre cropped);
            None: the images' own side, which they must share.
        channels: 1 (grey) or 3 (RGB); None: grey when every image is grey, else RGB.
        skip_bad_files: leave unreadable files out (counted) instead of stopping at the first.
        cache_dir: where the decoded images are cached.
        val_size: images of ``train/`` held out for validation when there is no ``val/``.
        seed: the seed of that split.
        pipeline: ``tensor``, ``torchvision`` or ``auto`` (by the decoded size); the tensor
            pipeline keeps the decoded pixels in the cache.
        num_workers: processes decoding the files the first time.
        facts: what a run recorded (:meth:`facts`): the folder is read with those classes,
            side and channels, and predict needs no folder at all.
    """

    OPTIONS = ("root", "image_size", "channels", "skip_bad_files", "cache_dir", "facts")

    def __init__(
        self,
        root: str | Path,
        *,
        image_size: int | None = None,
        channels: int | None = None,
        skip_bad_files: bool = False,
        cache_dir: str | Path | None = None,
        val_size: int | float = 0.1,
        seed: int = 0,
        pipeline: str = "auto",
        num_workers: int = 0,
        facts: Mapping[str, Any] | None = None,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        super().__init__(self.root)
        self.requested_side = image_size
        self.requested_channels = channels
        self.skip_bad_files = skip_bad_files
        self.cache_dir = Path(cache_dir).expanduser().resolve() if cache_dir else self.root.parent
        self.val_size, self.seed = val_size, seed
        self.pipeline = pipeline
        self.num_workers = num_workers
        self.recorded = dict(facts) if facts else None
        self._scan: FolderScan | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> FolderSource:
        if options.get("root") in (None, "", "???"):
            raise ConfigError("data=folder needs data.root=<folder holding train/<class>/<images>>")
        return cls(
            options["root"],
            image_size=options.get("image_size"),
            channels=options.get("channels"),
            skip_bad_files=bool(options.get("skip_bad_files")),
            cache_dir=options.get("cache_dir"),
            val_size=options.get("val_size", 0.1),
            seed=options.get("seed", 0),
            pipeline=options.get("pipeline") or "auto",
            num_workers=options.get("num_workers") or 0,
            facts=options.get("facts"),
        )

    # ------------------------------------------------------------------ facts

    def _fact(self, key: str) -> Any:
        return self.recorded[key] if self.recorded else None

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._fact("name") or self.root.name

    @property
    def classes(self) -> tuple[str, ...]:  # type: ignore[override]
        if self.recorded:
            return tuple(self.recorded["classes"])
        return self.scan().listing.classes

    @property
    def image_size(self) -> int:  # type: ignore[override]
        return self._fact("image_size") or self.scan().side

    @property
    def channels(self) -> int:  # type: ignore[override]
        return self._fact("channels") or self.scan().channels

    @property
    def mean(self) -> tuple[float, ...]:  # type: ignore[override]
        return tuple(self._fact("mean") or self._statistics()[0])

    @property
    def std(self) -> tuple[float, ...]:  # type: ignore[override]
        return tuple(self._fact("std") or self._statistics()[1])

    @property
    def light_on_dark(self) -> bool:  # type: ignore[override]
        if self.recorded:
            return bool(self.recorded.get("light_on_dark"))
        scan = self.scan()
        dark = scan.decoded.dark_border[self.train_rows()]
        return scan.channels == 1 and bool(dark.float().mean() >= 0.9)

    @property
    def has_val(self) -> bool:  # type: ignore[override]
        return "val" in self.scan().listing.files

    @property
    def has_test(self) -> bool:  # type: ignore[override]
        return "test" in self.scan().listing.files

    def check(self) -> None:
        self.scan()

    def decoded_bytes(self) -> int:
        """The size of every image decoded as uint8 at the dataset's side and channels."""
        return self.scan().listing.count() * self.channels * self.image_size**2

    # ------------------------------------------------------------------ the look at the files

    def scan(self) -> FolderScan:
        """List, check and decode the folder once (or read the decoding from the cache)."""
        if self._scan is None:
            key = (self.root, self.requested_side, self.requested_channels, self.skip_bad_files)
            key += (self.cache_dir, self.pipeline, _recorded_look(self.recorded))
            listing = list_folder(self.root)
            previous = _SCANNED.get(key)
            if previous is not None and previous.cached[0].parent.name.endswith(listing.key()):
                self._scan = previous
            else:
                self._scan = _SCANNED[key] = self._look(listing)
        return self._scan

    def _look(self, listing: FolderListing) -> FolderScan:
        if self.recorded and tuple(self.recorded["classes"]) != listing.classes:
            raise DataError(
                f"{self.root / 'train'} has the classes {', '.join(listing.classes)}, but the "
                f"checkpoint was trained on {', '.join(self.recorded['classes'])}"
            )
        files = [path for split in listing.files.values() for path in split]
        side = self._fact("image_size") or self.requested_side
        channels = self._fact("channels") or self.requested_channels
        headers = None
        if side is None or channels is None:
            headers = read_headers(files)
            self._refuse_bad(listing, headers.bad)
            side = side or _common_side(files, headers.sizes, headers.bad)
            channels = channels or (1 if all(m in GREY_MODES for m in headers.modes if m) else 3)
        decoded_size = len(files) * channels * side * side
        keep = choose_pipeline(self.pipeline, decoded_size) == "tensor"
        cache = FolderCache(self.cache_dir, listing)
        decoded = cache.load(side, channels, need_images=keep)
        fresh = decoded is None
        if decoded is None:
            decoded = decode_folder(
                files, channels, side, keep_images=keep, num_workers=self.num_workers
            )
        bad = dict(headers.bad if headers else {}) | decoded.bad
        self._refuse_bad(listing, bad)
        path = cache.path(side, channels)
        size = cache.save(side, channels, decoded) if fresh else path.stat().st_size
        skipped = [bad[i] for i in sorted(bad)]
        if bad:  # left out: the listing and the decoding without them
            decoded = _without(decoded, sorted(bad))
            _drop_files(listing, set(bad))
        return FolderScan(listing, side, channels, decoded, (path, size, fresh), skipped)

    def _refuse_bad(self, listing: FolderListing, bad: Mapping[int, str]) -> None:
        if bad and not self.skip_bad_files:
            first = bad[min(bad)]
            more = f" ({len(bad)} unreadable files in all)" if len(bad) > 1 else ""
            raise DataError(f"{first}{more}; data.skip_bad_files=true leaves them out")

    def report(self) -> None:
        """Say once what was decoded or read from the cache, and what was left out."""
        scan = self.scan()
        if scan.reported:
            return
        scan.reported = True
        path, size, fresh = scan.cached
        what = "decoded pixels" if scan.decoded.images is not None else "pixel sums"
        look = f"{scan.side}×{scan.side}×{scan.channels}"
        counts = ", ".join(f"{split} {len(f):,}" for split, f in scan.listing.files.items())
        if fresh:
            log.info(
                "%s: %s images (%s) decoded at %s in %.1f s; their %s cached in %s (%s): a "
                "changed folder is read again",
                self.name,
                f"{scan.listing.count():,}",
                counts,
                look,
                scan.decoded.seconds,
                what,
                path.parent,
                byte_size(size),
            )
        else:
            log.info(
                "%s: %s images (%s) at %s, their %s read from the cache %s (%s)",
                self.name,
                f"{scan.listing.count():,}",
                counts,
                look,
                what,
                path.parent,
                byte_size(size),
            )
        if scan.skipped:
            log.warning(
                "%s: left out %d unreadable file(s) (data.skip_bad_files=true), e.g. %s",
                self.name,
                len(scan.skipped),
                scan.skipped[0],
            )

    # ------------------------------------------------------------------ splits

    def train_rows(self) -> torch.Tensor:
        """Rows of the decoding that the model trains on (train/ less the held-out images)."""
        scan = self.scan()
        rows = scan.rows["train"]
        if self.has_val:
            return rows
        count = len(rows)
        held_out = validation_count(self.val_size, count, self.name)
        train, _ = split_indices(count, held_out, self.seed)
        return rows[torch.tensor(train, dtype=torch.long)]

    def _statistics(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training split, in [0, 1] units."""
        scan = self.scan()
        rows = self.train_rows()
        pixels = len(rows) * scan.side * scan.side
        mean = scan.decoded.sums[rows].sum(0) / pixels / 255
        square = scan.decoded.squares[rows].sum(0) / pixels / 255**2
        std = (square - mean.square()).clamp_min(0).sqrt()
        # rounded: the values the checkpoint, the report and a reader see are the same
        return [round(m, 6) for m in mean.tolist()], [round(max(s, 1e-3), 6) for s in std.tolist()]

    # ------------------------------------------------------------------ files

    def files_present(self) -> bool:
        return (self.root / "train").is_dir()

    def ensure_files(self, download: bool) -> None:
        list_folder(self.root)  # one clear error for a missing or malformed folder

    def missing_message(self) -> str:
        return f"data.root={self.root} must hold train/<class>/<images>"

    def check_files(self) -> None:
        self.scan()

    def split_missing(self, split: str) -> None:
        if split not in self.scan().listing.files:
            raise DataError(f"{self.root} has no {split}/ folder")

    def raw_tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        self.split_missing(split)
        scan = self.scan()
        if scan.decoded.images is None:
            raise DataError(
                f"{self.root}: its {byte_size(self.decoded_bytes())} of decoded images are over "
                f"the tensor pipeline's {byte_size(TENSOR_LIMIT_BYTES)}; use data.pipeline="
                "torchvision (or auto)"
            )
        rows = scan.rows[split]
        labels = torch.tensor(scan.listing.labels[split], dtype=torch.int64)
        return scan.decoded.images[rows], labels

    def torchvision_dataset(self, split: str, transform: nn.Module | None = None) -> Dataset:
        self.split_missing(split)
        scan = self.scan()
        return ImageFileSplit(
            scan.listing.files[split],
            scan.listing.labels[split],
            scan.channels,
            scan.side,
            transform,
        )


class ImageFileSplit(Dataset):
    """A split of an image folder read file by file (the torchvision pipeline): items
    ``(transform(uint8 image), label)``, each file brought to the dataset's look.

    Args:
        files: the split's files.
        labels: their class indices.
        channels: 1 or 3.
        side: the dataset's side.
        transform: the per-sample transform (to the model's input).
    """

    def __init__(
        self,
        files: list[Path],
        labels: list[int],
        channels: int,
        side: int,
        transform: nn.Module | None,
    ) -> None:
        self.files, self.labels = files, labels
        self.channels, self.side, self.transform = channels, side, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = read_image(self.files[index], self.channels, self.side)
        return (self.transform(image) if self.transform else image), self.labels[index]


def _recorded_look(recorded: Mapping[str, Any] | None) -> tuple[Any, ...]:
    if not recorded:
        return ()
    return (recorded.get("image_size"), recorded.get("channels"), tuple(recorded["classes"]))


def _common_side(files: list[Path], sizes: list[tuple[int, int]], bad: Mapping[int, str]) -> int:
    """The side every image shares, or one error naming two sizes found."""
    seen: dict[tuple[int, int], int] = {}
    for position, size in enumerate(sizes):
        if position not in bad:
            seen.setdefault(size, position)
    if len(seen) > 1:
        (a, i), (b, j) = list(seen.items())[:2]
        raise DataError(
            f"the images do not share one size: {files[i]} is {a[0]}×{a[1]} and {files[j]} is "
            f"{b[0]}×{b[1]}; set data.image_size=<side> (each image's shorter side is resized "
            "to it, then the centre cropped square)"
        )
    ((width, height),) = seen
    if width != height:
        raise DataError(
            f"the images are {width}×{height}, not square; set data.image_size=<side> (each "
            "image's shorter side is resized to it, then the centre cropped square)"
        )
    return width


def _without(decoded: Decoded, bad: list[int]) -> Decoded:
    keep = torch.ones(len(decoded.sums), dtype=torch.bool)
    keep[bad] = False
    images = decoded.images[keep] if decoded.images is not None else None
    return Decoded(
        decoded.sums[keep],
        decoded.squares[keep],
        decoded.dark_border[keep],
        {},
        images,
        decoded.seconds,
    )


def _drop_files(listing: FolderListing, bad: set[int]) -> None:
    position = 0
    for split in list(listing.files):
        files, labels = listing.files[split], listing.labels[split]
        kept = [i for i in range(len(files)) if position + i not in bad]
        listing.files[split] = [files[i] for i in kept]
        listing.labels[split] = [labels[i] for i in kept]
        position += len(files)


def byte_size(size: int) -> str:
    if size < 1e6:
        return f"{size / 1e3:.0f} kB"
    return f"{size / 1e6:.1f} MB" if size < 1e9 else f"{size / 1e9:.2f} GB"
