"""The rules of the data options (``data.*``), stated once: the data module checks its
arguments with them, and config validation calls them before anything is read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightcnn.core.errors import BOOLEAN, Rule, check_rules, is_int, is_number
from lightcnn.data.pipelines import PIPELINES
from lightcnn.data.pipelines.augment import Augmentation
from lightcnn.data.sources import DATASETS

RULES: dict[str, Rule] = {
    "dataset": (lambda v: v in DATASETS, f"one of {', '.join(DATASETS)}"),
    "batch_size": (lambda v: is_int(v) and v > 0, "a positive integer"),
    "eval_batch_size": (lambda v: v is None or (is_int(v) and v > 0), "a positive integer or null"),
    "val_size": (
        lambda v: (is_int(v) and v > 0) or (is_number(v) and 0 < v < 1),
        "a number of images > 0 or a fraction in (0, 1)",
    ),
    "num_workers": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    "num_classes": (lambda v: v is None or (is_int(v) and v >= 2), "an integer >= 2"),
    "seed": (is_int, "an integer"),
    "pipeline": (lambda v: v in PIPELINES, f"one of {', '.join(PIPELINES)}"),
    "pin_memory": BOOLEAN,
    "persistent_workers": BOOLEAN,
    "download": BOOLEAN,
    # an image folder's (data=folder)
    "root": (lambda v: v is None or isinstance(v, str), "the path of a folder"),
    "image_size": (
        lambda v: v is None or (is_int(v) and v > 0),
        "a positive integer (or null: the images' own side)",
    ),
    "channels": (lambda v: v in (None, 1, 3), "1, 3 (or null: grey when every image is)"),
    "skip_bad_files": BOOLEAN,
    "cache_dir": (lambda v: v is None or isinstance(v, str), "the path of a folder"),
    "facts": (lambda v: v is None or isinstance(v, Mapping), "a mapping (what a run recorded)"),
    # SVHN's
    "extra": BOOLEAN,
}


def check_data_options(options: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming ``data.<key>`` for the first option that cannot work.

    What needs the dataset itself (its class count, the options only some datasets read) is
    checked when it is opened (:func:`lightcnn.data.sources.open_source`).

    Args:
        options: the data module's arguments (``data`` config); missing keys are not checked.
    """
    check_rules("data", options, RULES)
    Augmentation.check(options)
