"""The rules of the data options (``data.*``), stated once: the data module checks its
arguments with them, and config validation calls them before anything is read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightcnn.core.errors import BOOLEAN, ConfigError, Rule, check_rules, is_int, is_number
from lightcnn.data.datasets import DATASETS
from lightcnn.data.pipelines import PIPELINES
from lightcnn.data.pipelines.augment import Augmentation

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
}


def check_data_options(options: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming ``data.<key>`` for the first option that cannot work.

    Args:
        options: the data module's arguments (``data`` config); missing keys are not checked.
    """
    check_rules("data", options, RULES)
    Augmentation.check(options)
    if options.get("num_classes") is not None and "dataset" in options:
        source = DATASETS[options["dataset"]]
        if options["num_classes"] != len(source.classes):
            raise ConfigError(
                f"data.num_classes={options['num_classes']} but {source.name} has "
                f"{len(source.classes)} classes"
            )
