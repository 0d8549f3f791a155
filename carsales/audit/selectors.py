"""The audit log read as a manager reads it: what happened, who did it, in words, linked."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import django_filters as filters
from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.urls import reverse

from carsales.catalog.models import Car
from carsales.core.money import format_money
from carsales.orders.models import Order, PaymentMethod, VoidReason, void_reason_label

from .models import AuditEntry

# What a manager asks to see, and the actions it covers.
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "orders": ("Orders placed and cancelled", ("order.placed", "order.cancelled")),
    "payments": ("Payments and refunds", ("order.paid", "order.refunded")),
    "voids": ("Sales voided", ("sale.voided",)),
    "cars": ("Cars added, edited, taken off sale, removed",
             ("car.created", "car.edited", "car.withdrawn", "car.relisted", "car.deleted")),
    "prices": ("Price changes", ("car.price_changed",)),
    "photos": ("Photos added and deleted", ("car.photo_added", "car.photo_deleted")),
}  # fmt: skip


class ActivityFilterSet(filters.FilterSet):
    kind = filters.ChoiceFilter(
        label="What", choices=[(key, label) for key, (label, _actions) in KINDS.items()], empty_label="Everything",
        method="of_kind",
    )  # fmt: skip
    actor = filters.CharFilter(label="Who", field_name="actor_name", lookup_expr="icontains", max_length=150)
    day = filters.DateFilter(
        label="Day", field_name="created_at", lookup_expr="date", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = AuditEntry
        fields = ["kind", "actor", "day"]

    def of_kind(self, entries: QuerySet[AuditEntry], name: str, kind: str) -> QuerySet[AuditEntry]:
        return entries.filter(action__in=KINDS[kind][1])


@dataclass(frozen=True)
class ActivityLine:
    at: datetime
    who: str
    text: str
    link: str | None  # the object's page, while it has one


def activity_lines(entries: list[AuditEntry]) -> list[ActivityLine]:
    """Each entry said in words, with a link to what it is about while that still exists (two
    queries, whatever the entries: the cars and the orders among them that do)."""
    cars = {_id(entry.object_id) for entry in entries if entry.object_type == "catalog.Car"}
    orders = {_id(entry.object_id) for entry in entries if entry.object_type == "orders.Order"}
    orders |= {_id(_detail(entry).get("order")) for entry in entries if entry.action == "sale.voided"}
    existing = {
        "catalog:car_detail": set(Car.objects.filter(pk__in=cars - {None}).values_list("pk", flat=True)),
        "orders:order_detail": set(Order.objects.filter(pk__in=orders - {None}).values_list("pk", flat=True)),
    }

    def linked(name: str, pk: Any) -> str | None:
        number = _id(pk)
        return reverse(name, kwargs={"pk": number}) if number in existing[name] else None

    return [
        ActivityLine(entry.created_at, entry.actor_name or "The system", *_said(entry, linked)) for entry in entries
    ]


def _detail(entry: AuditEntry) -> dict[str, Any]:
    return entry.detail if isinstance(entry.detail, dict) else {}


def _id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):  # an id no page takes: said, not linked
        return None


def _said(entry: AuditEntry, linked: Callable[[str, Any], str | None]) -> tuple[str, str | None]:
    detail = _detail(entry)
    car = detail.get("car") or f"car #{entry.object_id}"
    car_page = linked("catalog:car_detail", entry.object_id) if entry.object_type == "catalog.Car" else None
    order_page = linked("orders:order_detail", entry.object_id) if entry.object_type == "orders.Order" else None
    match entry.action:
        case "car.created":
            return (
                f"added {car} (stock code {detail.get('stock_code', '—')}) at {_money(detail.get('value'))}",
                car_page,
            )
        case "car.edited":
            fields = detail.get("fields")
            said = ", ".join(map(_field_label, fields)) if isinstance(fields, list) else ""
            return f"edited {car}" + (f": {said}" if said else ""), car_page
        case "car.price_changed":
            old, new = _money(detail.get("old")), _money(detail.get("new"))
            return f"changed the price of {car} from {old} to {new}", car_page
        case "car.withdrawn":
            return f"took {car} off sale", car_page
        case "car.relisted":
            return f"put {car} back on sale", car_page
        case "car.photo_added":
            return f"added a photo to {car}", car_page
        case "car.photo_deleted":
            return f"deleted a photo of {car}", car_page
        case "car.deleted":
            return f"deleted {car} (stock code {detail.get('stock_code', '—')})", None
        case "order.placed":
            return f"placed order #{entry.object_id} ({_money(detail.get('total_price'))})", order_page
        case "order.paid":
            paid = [_money(detail["total_price"])] if "total_price" in detail else []
            paid += [f"by {_method(detail['method'])}"] if detail.get("method") else []
            paid += [f"reference {detail['reference']}"] if detail.get("reference") else []
            said = f"recorded the payment of order #{entry.object_id}"
            return said + (f" ({', '.join(paid)})" if paid else ""), order_page
        case "order.refunded":
            refunded = [_money(detail["total_price"])] if "total_price" in detail else []
            refunded += [f"reference {detail['reference']}"] if detail.get("reference") else []
            said = f"recorded the refund of order #{entry.object_id}"
            return said + (f" ({', '.join(refunded)})" if refunded else ""), order_page
        case "order.cancelled":
            return f"cancelled order #{entry.object_id}", order_page
        case "sale.voided":
            order = detail.get("order")
            why = _void_reason(detail.get("reason", ""), cars=detail.get("cars"))
            text = f"voided the sale of order #{order} ({_money(detail.get('amount'))})" + (f": {why}" if why else "")
            return text, linked("orders:order_detail", order)
    return f"{entry.action} {entry.object_type} #{entry.object_id}", None


def _field_label(name: Any) -> str:
    try:
        field = Car._meta.get_field(str(name))
    except FieldDoesNotExist:  # a field since removed, or an odd entry: as written
        return str(name)
    return str(getattr(field, "verbose_name", name))


def _money(value: Any) -> str:
    try:
        return format_money(Decimal(value)) if value is not None else "price on request"
    except (InvalidOperation, TypeError, ValueError):
        return str(value)


def _method(method: str) -> str:
    return PaymentMethod(method).label.lower() if method in PaymentMethod.values else method


def _void_reason(reason: str, *, cars: int | None) -> str:
    # An entry logged before its car count was kept says "cars", as it did.
    return void_reason_label(reason, cars=cars).lower() if reason in VoidReason.values else reason
