"""User-facing errors: raised for bad input, printed as one clear line without a traceback.

Every layer raises these; every entry point prints them with :func:`report` and exits with
status 2, so a mistake reads the same whichever command made it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

EXIT_USER_ERROR = 2


class LightcnnError(Exception):
    """Base class for errors caused by the user's input (config, files, checkpoints)."""


class ConfigError(LightcnnError, ValueError):
    """A config value is wrong: the message names the key, the value and what is allowed."""


class DataError(LightcnnError):
    """A dataset is missing or malformed: the message names the path and what was expected."""


class CheckpointError(LightcnnError):
    """A checkpoint or weights file is missing, corrupt, or holds more than tensors."""


class NonFiniteLossError(LightcnnError):
    """The training loss became NaN or infinite."""


class RunDirError(LightcnnError):
    """A run or sweep directory cannot be created or written (permissions, a full disk)."""


class WeightsError(LightcnnError):
    """Pretrained weights are missing or do not fit the model: the message names the file."""


def report(error: LightcnnError) -> None:
    """Print a user error as one line on stderr: ``lightcnn: error: <message>``."""
    print(f"lightcnn: error: {error}", file=sys.stderr, flush=True)


def user_error_in(error: BaseException) -> LightcnnError | None:
    """The lightcnn error that caused ``error`` (e.g. inside Hydra's instantiation error)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, LightcnnError):
            return cause
        cause = cause.__cause__
    return None


# --------------------------------------------------------------------------- option rules
# A rule is (predicate, what is allowed). Each layer states the rules of its own options once
# (data/options.py, lit/optim.py, ...); the module that uses the options and the config
# validation both call them.

Rule = tuple[Callable[[Any], bool], str]


def is_int(value: Any) -> bool:
    """An integer, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_bool(value: Any) -> bool:
    """Exactly true or false (a YAML ``maybe`` is a string)."""
    return isinstance(value, bool)


BOOLEAN: Rule = (is_bool, "true or false")


def check_rules(prefix: str, values: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    """Raise :class:`ConfigError` for the first value that breaks its rule.

    Args:
        prefix: the config node the keys belong to (``data``), for the message.
        values: the options by key; keys without a rule and missing keys are skipped.
        rules: key → (predicate, what is allowed).
    """
    for key, (ok, allowed) in rules.items():
        if key in values and not ok(values[key]):
            name = f"{prefix}.{key}" if prefix else key
            raise ConfigError(f"{name}={values[key]!r} is not allowed: it must be {allowed}")
