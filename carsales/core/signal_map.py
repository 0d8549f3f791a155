"""What is connected to what: every signal the project uses and its live receivers."""

import weakref
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.contrib.auth.signals import user_logged_in
from django.core.signals import request_finished, request_started
from django.db.models import signals as model_signals
from django.dispatch import Signal
from django.utils.module_loading import module_has_submodule

from .dispatch import DomainSignal, receiver_name


@dataclass(frozen=True)
class Connection:
    receiver: str
    sender: str


@dataclass(frozen=True)
class SignalInfo:
    name: str
    kind: str
    doc: str
    connections: list[Connection]


def _domain_signals() -> list[tuple[str, Signal]]:
    """DomainSignals defined in the `signals` module of any project app."""
    found: list[tuple[str, Signal]] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("carsales."):
            continue
        if not module_has_submodule(config.module, "signals"):
            continue
        module = import_module(f"{config.name}.signals")
        found += [(f"{config.label}.{n}", s) for n, s in vars(module).items() if isinstance(s, DomainSignal)]
    return found


def signal_map() -> list[SignalInfo]:
    senders = {id(model): model._meta.label for model in apps.get_models(include_auto_created=True)}
    catalogue: list[tuple[str, str, Signal]] = [
        (name, "domain", signal) for name, signal in sorted(_domain_signals(), key=lambda pair: pair[0])
    ]
    for name in ("pre_save", "post_save", "pre_delete", "post_delete", "m2m_changed"):
        catalogue.append((f"django.db.models.signals.{name}", "model", getattr(model_signals, name)))
    catalogue += [
        ("django.contrib.auth.signals.user_logged_in", "auth", user_logged_in),
        ("django.core.signals.request_started", "request", request_started),
        ("django.core.signals.request_finished", "request", request_finished),
    ]
    result = []
    for name, kind, signal in catalogue:
        connections = []
        for (_receiver_key, sender_key), ref, *_ in signal.receivers:
            receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
            if receiver is None:
                continue
            sender = "any sender" if sender_key == id(None) else senders.get(sender_key, f"object {sender_key}")
            connections.append(Connection(receiver_name(receiver), sender))
        doc = (signal.__doc__ or "") if isinstance(signal, DomainSignal) else ""
        result.append(SignalInfo(name, kind, doc, sorted(connections, key=lambda c: (c.sender, c.receiver))))
    return result
