"""Your own network: any importable ``nn.Module`` by its import path (``model=custom``).

``model.net`` follows Hydra's ``_target_`` convention: ``_target_`` is the import path of a
class (or a function returning an ``nn.Module``), the other keys are its keyword arguments. It
is called with ``num_classes`` and ``in_channels`` (and ``image_size`` when its signature names
it) plus those arguments, all primitives, so the checkpoint records them and ``eval``,
``predict``, ``summary`` and ``init_from=`` rebuild the network from the checkpoint alone.

A checkpoint is data, not code. An import path read from a checkpoint could name
``os.system``; so a network is built only from an ``nn.Module`` subclass, unless the path is
one the user named in this process (:func:`trusting`: the training config, or ``net_target=``
on the command line of eval and predict). Anything else is refused before it is called.
"""

from __future__ import annotations

import inspect
import pkgutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from torch import nn

from lightcnn.core.errors import ConfigError

#: the key of ``model.net`` naming what to call (Hydra's convention)
TARGET = "_target_"
#: the arguments lightcnn passes itself (the contract with the data)
GIVEN = ("num_classes", "in_channels", "image_size")

# import paths the user named in this process: the only callables that are not nn.Module
# subclasses a network may be built from
_trusted: ContextVar[frozenset[str]] = ContextVar("lightcnn_trusted_targets", default=frozenset())


@contextmanager
def trusting(*targets: str | None) -> Iterator[None]:
    """Allow these import paths to be called although they are not ``nn.Module`` subclasses.

    Args:
        *targets: paths the user named (the config's ``model.net._target_``); None is skipped.
    """
    token = _trusted.set(_trusted.get() | {t for t in targets if t})
    try:
        yield
    finally:
        _trusted.reset(token)


def configured_target(model: Mapping[str, Any]) -> str | None:
    """The import path of a network of one's own in a model config or checkpoint's
    hyperparameters (``model.net._target_``), or None.

    Args:
        model: the model options (``arch``, ``net``, ...).
    """
    net = model.get("net")
    if model.get("arch") != "custom" or not isinstance(net, Mapping):
        return None
    target = net.get(TARGET)
    return target if isinstance(target, str) else None


def network_name(model: Mapping[str, Any]) -> str:
    """How a model is named to people: its architecture, or the import path of one's own.

    Args:
        model: the model options (``arch``, ``net``, ...).
    """
    return configured_target(model) or str(model.get("arch", "model"))


def target_of(net: Any) -> str:
    """The import path ``model.net._target_``, checked to be a dotted name.

    Args:
        net: the ``model.net`` mapping.
    """
    if (
        not isinstance(net, Mapping)
        or net.get(TARGET) in (None, "???")
        or not isinstance(net.get(TARGET), str)
    ):
        raise ConfigError(
            "model.net._target_ is required: the import path of your network, "
            "e.g. model.net._target_=my_pkg.nets.TinyNet"
        )
    path = net[TARGET]
    if not all(part.isidentifier() for part in path.split(".")) or "." not in path:
        raise ConfigError(
            f"model.net._target_={path!r} is not an import path: it must be "
            "<module>.<name>, e.g. my_pkg.nets.TinyNet"
        )
    return path


def resolve_network(net: Mapping[str, Any]) -> Any:
    """Import what ``model.net._target_`` names and check that it may be called.

    Raises :class:`ConfigError` in one line when the module cannot be imported, or when the
    object is not an ``nn.Module`` subclass and the user did not name it (:func:`trusting`):
    nothing has been called then.

    Args:
        net: the ``model.net`` mapping.
    """
    path = target_of(net)
    try:
        target = pkgutil.resolve_name(path)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            f"model.net._target_={path} cannot be imported ({type(error).__name__}: {error}); "
            "is its package installed or on PYTHONPATH?"
        ) from None
    module_class = inspect.isclass(target) and issubclass(target, nn.Module)
    if not module_class and path not in _trusted.get():
        kind = "a class that is not an nn.Module" if inspect.isclass(target) else "not a class"
        raise ConfigError(
            f"refusing model.net._target_={path}: it is {kind}, and a network named by a "
            "checkpoint is built only from an nn.Module subclass; if it is your own function "
            f"returning a network, name it yourself: net_target={path}"
        )
    return target


def custom_network(
    *, num_classes: int, in_channels: int, image_size: int, net: Mapping[str, Any] | None = None
) -> nn.Module:
    """Build the network ``model.net`` names for the resolved input (``model=custom``).

    Args:
        num_classes: output classes.
        in_channels: channels of the input.
        image_size: side of the input (passed when the target's signature names it).
        net: ``{"_target_": "<import path>", **its keyword arguments}`` (primitives).
    """
    target = resolve_network(net)
    path = net[TARGET]
    own = {key: value for key, value in net.items() if key != TARGET}
    clash = sorted(set(own) & set(GIVEN))
    if clash:
        raise ConfigError(
            f"model.net.{clash[0]} is set by lightcnn from the data; remove it from model.net"
        )
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        signature = None
    given: dict[str, Any] = {"num_classes": num_classes, "in_channels": in_channels}
    if signature is not None:
        if "image_size" in signature.parameters:
            given["image_size"] = image_size
        try:
            signature.bind(**given, **own)
        except TypeError as error:
            names = ", ".join(n for n in signature.parameters if n != "self")
            raise ConfigError(
                f"model.net._target_={path} cannot be called with num_classes, in_channels and "
                f"{', '.join(own) or 'no other argument'} ({error}); its parameters: {names}"
            ) from None
    built = target(**given, **own)
    if not isinstance(built, nn.Module):
        raise ConfigError(
            f"model.net._target_={path} returned {type(built).__name__}, not an nn.Module"
        )
    return built
