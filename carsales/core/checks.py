"""Start-up checks of the signal wiring (Django's check framework: `manage.py check`, runserver,
migrate, and every management command).

Signal mistakes fail silently at run time — a receiver that never runs, runs twice, or
vanishes with the garbage collector — so they are caught when the project starts instead:

- carsales.E001: an app's `receivers` module was never imported (its AppConfig.ready() does
  not import it), so none of its receivers is connected;
- carsales.E002: a project receiver connected without a dispatch_uid (a second import of its
  module connects it again);
- carsales.E003: one function connected twice to one signal for one sender;
- carsales.E004: a project receiver held only by a weak reference to a closure, a partial or
  a bound method: nothing else keeps it alive, so it disconnects itself at the next garbage
  collection (connect with weak=False, or connect a module-level function);
- carsales.E005: a post_save receiver that calls `.save()` on the instance it is handed: it sends
  post_save again, and recurses (a runtime guard, carsales.observability, names it too);
- carsales.E006: a durable receiver whose `carries` names an argument its signal does not send (by
  Django's signature for model signals, by the contract's "kwargs:" for the project's own): the
  delivery would reach the worker without it.
"""

import ast
import functools
import inspect
import re
import sys
import textwrap
import types
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks
from django.db.models.signals import post_save
from django.dispatch import Signal
from django.utils.module_loading import module_has_submodule

from carsales.events.durable import registry

from .signal_map import origin, receiver_label, signal_map, signals_in_use

PROJECT = "carsales."


def _project_apps() -> list[AppConfig]:
    return [config for config in apps.get_app_configs() if config.name.startswith(PROJECT)]


def _is_project(receiver: Any) -> bool:
    return str(getattr(origin(receiver), "__module__", "")).startswith(PROJECT)


def _short_lived(receiver: Any) -> bool:
    """Whether nothing but the signal is likely to hold this receiver: a closure, a partial, a
    bound method (its bound object is usually made for the connection)."""
    if isinstance(receiver, functools.partial | types.MethodType):
        return True
    return isinstance(receiver, types.FunctionType) and "<locals>" in receiver.__qualname__


def receivers_not_imported(app_configs: Iterable[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for config in _project_apps():
        name = f"{config.name}.receivers"
        if module_has_submodule(config.module, "receivers") and name not in sys.modules:
            errors.append(
                checks.Error(
                    f"{name} was never imported, so none of its receivers is connected.",
                    hint=f"Import it in {type(config).__name__}.ready().",
                    obj=config,
                    id="carsales.E001",
                )
            )
    return errors


def _connections(signal: Signal) -> Iterator[tuple[Any, Any, Any, bool]]:
    """(lookup key, sender key, live receiver or None, weakly held) for each connection."""
    for (lookup_key, sender_key), ref, *_ in signal.receivers:
        weak = isinstance(ref, weakref.ReferenceType)
        yield lookup_key, sender_key, (ref() if weak else ref), weak


def receivers_badly_connected(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for signal_name, signal in signals_in_use():
        seen: Counter[tuple[int, Any]] = Counter()
        for lookup_key, sender_key, receiver, weak in _connections(signal):
            if receiver is None or not _is_project(receiver):
                continue
            label = receiver_label(receiver)
            if not isinstance(lookup_key, str):
                errors.append(
                    checks.Error(
                        f"{label} is connected to {signal_name} without a dispatch_uid.",
                        hint="Connect it in AppConfig.ready() with dispatch_uid='app.name', so a second import "
                        "cannot connect it twice.",
                        id="carsales.E002",
                    )
                )
            seen[(id(origin(receiver)), sender_key)] += 1
            if weak and _short_lived(receiver):
                errors.append(
                    checks.Error(
                        f"{label} is connected to {signal_name} by a weak reference to a closure, partial or "
                        "bound method, which nothing else holds: it will disconnect itself when garbage-collected.",
                        hint="Connect a module-level function, or pass weak=False.",
                        id="carsales.E004",
                    )
                )
        for _lookup_key, sender_key, receiver, _weak in _connections(signal):
            if receiver is not None and seen[(id(origin(receiver)), sender_key)] > 1:
                seen[(id(origin(receiver)), sender_key)] = 0  # one error per receiver
                errors.append(
                    checks.Error(
                        f"{receiver_label(receiver)} is connected to {signal_name} more than once for one "
                        "sender, so it runs more than once per send.",
                        hint="Connect it once, with one dispatch_uid.",
                        id="carsales.E003",
                    )
                )
    return errors


def _saves_its_instance(function: Any) -> bool:
    """Whether the function's source calls `instance.save(...)` on its `instance` argument."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return False
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "save"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "instance"
        for node in ast.walk(tree)
    )


def receivers_saving_their_sender(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f"{receiver_label(receiver)} saves the instance its post_save is about, which sends post_save "
            "again: a recursion.",
            hint="Write the field with a queryset update(), or assign it in pre_save, which the same save writes.",
            id="carsales.E005",
        )
        for _lookup_key, _sender_key, receiver, _weak in _connections(post_save)
        if receiver is not None and _is_project(receiver) and _saves_its_instance(origin(receiver))
    ]


MODEL_SIGNAL_KWARGS = {
    "pre_save": {"instance", "raw", "using", "update_fields"},
    "post_save": {"instance", "created", "raw", "using", "update_fields"},
    "pre_delete": {"instance", "using", "origin"},
    "post_delete": {"instance", "using", "origin"},
    "m2m_changed": {"instance", "action", "reverse", "model", "pk_set", "using"},
}


def _sent_kwargs(name: str, doc: str) -> set[str] | None:
    """What a signal sends: Django's signature, or the names its contract lists; None if unknown."""
    short = name.rsplit(".", 1)[-1]
    if short in MODEL_SIGNAL_KWARGS:
        return MODEL_SIGNAL_KWARGS[short]
    _, found, rest = doc.partition("kwargs:")
    return set(re.findall(r"`(\w+)`", rest)) if found else None


def durable_receivers_carrying_what_is_not_sent(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for info in signal_map():
        sent = _sent_kwargs(info.name, info.doc)
        for connection in info.connections:
            durable = registry.get(connection.dispatch_uid) if connection.mode == "durable" else None
            if durable is None or durable.carries is None or sent is None:
                continue
            missing = sorted(durable.carries - sent)
            if missing:
                errors.append(
                    checks.Error(
                        f"Durable receiver {durable.uid!r} carries {', '.join(missing)}, which {info.name} does not "
                        "send: its deliveries would reach the worker without it.",
                        hint=f"{info.name} sends {', '.join(sorted(sent))}.",
                        id="carsales.E006",
                    )
                )
    return errors
