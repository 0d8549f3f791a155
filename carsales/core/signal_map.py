"""What is connected to what: every signal the project uses, its contract, and its live
receivers in the order Django calls them, each with the way it runs (its mode).

Modes:
- inline: called by the send, inside the sender's transaction; its exception reaches the sender
  (`send`, or `send_robust` for a receiver that joins its sender: core.dispatch.joins_sender) or
  is returned (`send_robust`);
- savepoint: a DomainSignal receiver, inside the sender's transaction in a savepoint of its
  own once it touches the database, so a failure rolls back its writes alone and is recorded;
- durable: the send writes a delivery in the sender's transaction; a worker runs the function
  after commit, at least once (carsales.events), on its queue, ordered per object or not,
  deferred to a time, or only when a condition holds.
"""

import ast
import inspect
import weakref
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import import_module
from types import ModuleType
from typing import Any

from django.apps import apps
from django.contrib.auth import signals as auth_signals
from django.core import signals as core_signals
from django.db.models import signals as model_signals
from django.dispatch import Signal
from django.utils.module_loading import module_has_submodule

from carsales.events.durable import registry

from .dispatch import DomainSignal

PROJECT = "carsales."
DURABLE_PREFIX = "events:"

KINDS = {model_signals.__name__: "model", auth_signals.__name__: "auth", core_signals.__name__: "request"}


@dataclass(frozen=True)
class Connection:
    order: int  # Django calls the receivers of a send in this order (those whose sender matches)
    receiver: str  # module.function
    app: str  # the app label of the receiver's module, "" outside the project
    sender: str
    dispatch_uid: str
    mode: str  # inline, savepoint or durable
    durable: dict[str, Any] = field(default_factory=dict)  # queue, ordered, deferred, conditional

    @property
    def mode_detail(self) -> str:
        if self.mode != "durable":
            return self.mode
        ordered = self.durable["ordered"]
        lane = "any order" if not ordered else ("ordered" if ordered is True else f"ordered in lane {ordered}")
        details = [f"queue {self.durable['queue']}", lane]
        details += [name for name in ("deferred", "conditional") if self.durable[name]]
        return f"durable ({', '.join(details)})"


@dataclass(frozen=True)
class SignalInfo:
    name: str  # dotted: "orders.signals.order_placed", "django.db.models.signals.post_save"
    kind: str  # model, auth, request, domain or custom
    app: str  # the sending app's label, "" for Django's signals
    doc: str  # the contract: kwargs, when it is sent and when not
    connections: list[Connection]


def _project_signal_modules() -> list[ModuleType]:
    return [
        import_module(f"{config.name}.signals")
        for config in apps.get_app_configs()
        if config.name.startswith(PROJECT) and module_has_submodule(config.module, "signals")
    ]


def signals_in_use() -> list[tuple[str, Signal]]:
    """Django's model, auth and request signals, and every Signal a project app's `signals`
    module defines, by dotted name."""
    modules: list[ModuleType] = [model_signals, auth_signals, core_signals, *_project_signal_modules()]
    return [
        (f"{module.__name__}.{name}", value)
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, Signal) and not name.startswith("_")
    ]


@cache
def _attribute_docs(module_name: str) -> dict[str, str]:
    """The string literal under each module-level assignment: how a plain Signal's contract is written."""
    tree = ast.parse(inspect.getsource(import_module(module_name)))
    docs = {}
    for statement, following in zip(tree.body, tree.body[1:], strict=False):
        if (
            isinstance(statement, ast.Assign)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    docs[target.id] = inspect.cleandoc(following.value.value)
    return docs


def origin(receiver: Any) -> Any:
    """The function a wrapper (a DomainSignal savepoint, a durable record) stands for."""
    while hasattr(receiver, "__wrapped__") or hasattr(receiver, "stands_for"):
        receiver = getattr(receiver, "stands_for", None) or receiver.__wrapped__
    return receiver


def receiver_label(receiver: Any) -> str:
    function = origin(receiver)
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"


def _app_of(module: str) -> str:
    config = apps.get_containing_app_config(module)
    return config.label if config is not None and config.name.startswith(PROJECT) else ""


def connection_of(order: int, signal: Signal, lookup_key: Any, sender: str, receiver: Any) -> Connection:
    """Describe one connection of `signal`: its receiver, dispatch_uid and mode."""
    uid = lookup_key if isinstance(lookup_key, str) else ""
    durable = registry.get(uid.removeprefix(DURABLE_PREFIX)) if uid.startswith(DURABLE_PREFIX) else None
    if durable is not None:
        mode = "durable"
        uid = durable.uid
        details = {
            "queue": durable.queue,
            "ordered": durable.ordered,
            "deferred": durable.not_before is not None,
            "conditional": durable.when is not None,
        }
    else:
        # A DomainSignal receiver that joins its sender (an audit entry) runs without a savepoint.
        alone = isinstance(signal, DomainSignal) and not getattr(origin(receiver), "joins_sender", False)
        mode, details = ("savepoint" if alone else "inline"), {}
    module = getattr(origin(receiver), "__module__", "")
    return Connection(order, receiver_label(receiver), _app_of(module), sender, uid, mode, details)


def signal_map() -> list[SignalInfo]:
    senders = {id(model): model._meta.label for model in apps.get_models(include_auto_created=True)}
    result = []
    for name, signal in signals_in_use():
        module, _, attribute = name.rpartition(".")
        connections = []
        for order, ((lookup_key, sender_key), ref, *_) in enumerate(signal.receivers, start=1):
            receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
            if receiver is None:
                continue
            sender = "any sender" if sender_key == id(None) else senders.get(sender_key, "a sender that is not a model")
            connections.append(connection_of(order, signal, lookup_key, sender, receiver))
        if isinstance(signal, DomainSignal):
            kind, doc = "domain", signal.__doc__ or ""
        elif module.startswith(PROJECT):
            kind, doc = "custom", _attribute_docs(module).get(attribute, "")
        else:
            kind, doc = KINDS.get(module, "django"), ""
        result.append(SignalInfo(name, kind, _app_of(module), doc, connections))
    return result


def signal_map_as_data() -> list[dict[str, Any]]:
    """The map as JSON-ready data (`manage.py signals --json`)."""
    return [asdict(info) for info in signal_map()]


MAP_START = "<!-- signal map: generated by `manage.py signals --markdown`; a test keeps it current -->"
MAP_END = "<!-- end of the signal map -->"


def signal_map_markdown() -> str:
    """The project's receivers, signal by signal, as the Markdown embedded in docs/signals.md."""
    lines = [MAP_START, ""]
    for info in signal_map():
        ours = [c for c in info.connections if c.receiver.startswith(PROJECT) and ".tests." not in c.receiver]
        if not ours:
            continue
        contract = info.doc.splitlines()[0] if info.doc else ""
        lines += [f"### `{info.name}` ({info.kind})", ""]
        if contract:
            lines += [contract, ""]
        lines += ["| order | receiver | sender | dispatch_uid | runs |", "|---|---|---|---|---|"]
        # Numbered among carsales' own receivers: Django calls them in this order (others may come between).
        lines += [
            f"| {n} | `{c.receiver}` | {c.sender} | `{c.dispatch_uid or '—'}` | {c.mode_detail} |"
            for n, c in enumerate(ours, start=1)
        ]
        lines.append("")
    lines.append(MAP_END)
    return "\n".join(lines)
