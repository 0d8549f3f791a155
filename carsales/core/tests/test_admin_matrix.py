"""Every admin view and action of every registered model, as a superuser, against a store holding
every state (cars available, unpriced, reserved, sold; orders placed, paid, cancelled, voided;
carts, sales, derived and historical rows): each write either keeps the invariants or is
refused, and derived or historical rows are never deleted by hand.

The change pages are submitted stale: every page is loaded first, then the store moves on (a
checkout, a payment, a cancellation), then every page is saved as loaded — what a member of
staff does with a tab left open.
"""

from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Model

from carsales.catalog.services import brand_rename, car_vin_decode
from carsales.conftest import BrandFactory, CarFactory, UserFactory, order_for
from carsales.core.tests.invariants import assert_store_is_true
from carsales.orders.models import OrderStatus
from carsales.orders.services import cart_for_buyer, cart_for_token, cart_item_add, order_cancel, order_mark_paid

pytestmark = pytest.mark.django_db

# Rows that record what happened or are derived from other rows: written by receivers and
# services, corrected by their recount commands, never deleted by hand.
NEVER_DELETED_BY_HAND = {
    "catalog.catalogueversion",
    "catalog.carvinreport",
    "catalog.pricechange",
    "inventory.carinventory",
    "inventory.inventorytotals",
    "analytics.dailysales",
    "analytics.orderevent",
    "audit.auditentry",
}

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label_lower)


def _label(model: type[Model]) -> str:
    return model._meta.label_lower


def _admin_url(obj_or_model: Any, view: str, pk: Any = None) -> str:
    meta = obj_or_model._meta
    base = f"/admin/{meta.app_label}/{meta.model_name}/"
    return base if view == "changelist" else f"{base}{pk}/{view}/"


@pytest.fixture
def world(staff: Any) -> dict[str, Any]:
    """A store with a row in every state each admin shows."""
    brand = BrandFactory(name="Matrix")
    brand_rename(brand=brand, name="Matrix Motors")  # an old slug in the history
    cars = {
        "available": CarFactory(brand=brand),
        "unpriced": CarFactory(brand=brand, value=None),
        "to_reserve_later": CarFactory(brand=brand),
        "with_a_vin_report": CarFactory(brand=brand, vin="1HGCM82633A004352"),
    }
    car_vin_decode(car_id=cars["with_a_vin_report"].pk, vin="1HGCM82633A004352")
    orders = {
        "placed": order_for(CarFactory(brand=brand)),
        "to_pay_later": order_for(CarFactory(brand=brand)),
        "to_cancel_later": order_for(CarFactory(brand=brand)),
        "paid": order_for(CarFactory(brand=brand)),
        "cancelled": order_for(CarFactory(brand=brand)),
        "voided": order_for(CarFactory(brand=brand)),
    }
    order_mark_paid(order=orders["paid"], actor=staff)
    order_cancel(order=orders["cancelled"], actor=staff)
    order_mark_paid(order=orders["voided"], actor=staff)
    from carsales.sales.services import sale_void

    sale_void(sale=orders["voided"].sale, actor=staff)
    buyer = UserFactory()
    cart_item_add(cart=cart_for_buyer(buyer=buyer.buyer), car=cars["available"])
    cart_item_add(cart=cart_for_token(token=None), car=CarFactory(brand=brand))
    assert_store_is_true("the world as built")
    return {"cars": cars, "orders": orders, "buyer": buyer}


def _move_the_store_on(world: dict[str, Any]) -> None:
    """What happens while a member of staff has the admin pages open."""
    order_for(world["cars"]["to_reserve_later"])
    order_mark_paid(order=world["orders"]["to_pay_later"], actor=AnonymousUser())
    order_cancel(order=world["orders"]["to_cancel_later"], actor=None)


class _FormFields(HTMLParser):
    """The fields a browser would submit from the admin's main form, as loaded."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.data: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and attributes.get("id") == self.form_id:
            self.inside = True
        if not self.inside or "disabled" in attributes:
            return
        name = attributes.get("name", "")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in attributes:
                    self.data.append((name, attributes.get("value", "on")))
            elif kind not in {"file", "submit", "button", "image", "reset"}:
                self.data.append((name, attributes.get("value", "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attributes:
            self.data.append((self._select, attributes.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # The browser drops the one newline that follows <textarea>.
            self.data.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def _form_as_loaded(html: str, model: type[Model]) -> dict[str, list[str]]:
    parser = _FormFields(f"{model._meta.model_name}_form")
    parser.feed(html)
    fields: dict[str, list[str]] = {}
    for name, value in parser.data:
        fields.setdefault(name, []).append(value)
    fields["_save"] = ["Save"]
    return fields


@pytest.mark.parametrize("model", MODELS, ids=_label)
def test_saving_every_change_page_as_loaded_after_the_store_moved_on_keeps_the_invariants(
    model: type[Model], world: dict[str, Any], staff_client: Any
) -> None:
    pages = {}
    for obj in model._default_manager.all():
        response = staff_client.get(_admin_url(model, "change", obj.pk))
        assert response.status_code == 200, f"{_label(model)} #{obj.pk}"
        pages[obj.pk] = response.content.decode()

    _move_the_store_on(world)
    for pk, html in pages.items():
        response = staff_client.post(_admin_url(model, "change", pk), _form_as_loaded(html, model))

        assert response.status_code in {200, 302, 403}, f"{_label(model)} #{pk}: {response.status_code}"
        assert_store_is_true(f"after saving {_label(model)} #{pk} as loaded")


@pytest.mark.parametrize("model", MODELS, ids=_label)
def test_deleting_each_row_in_the_admin_keeps_the_invariants_or_is_refused(
    model: type[Model], world: dict[str, Any], staff_client: Any
) -> None:
    for pk in list(model._default_manager.values_list("pk", flat=True)):
        response = staff_client.post(_admin_url(model, "delete", pk), {"post": "yes"})

        assert response.status_code in {200, 302, 403}, f"{_label(model)} #{pk}: {response.status_code}"
        assert_store_is_true(f"after deleting {_label(model)} #{pk}")
        if _label(model) in NEVER_DELETED_BY_HAND:
            assert response.status_code == 403, f"{_label(model)} #{pk} was deletable by hand"
            assert model._default_manager.filter(pk=pk).exists()


def _actions() -> list[tuple[type[Model], str]]:
    """Every (model, action) the admin offers; delete_selected where Django adds it."""
    return [
        (model, name)
        for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: _label(item[0]))
        for name in [*(model_admin.actions or []), "delete_selected"]
        if isinstance(name, str)
    ]


@pytest.mark.parametrize(
    ("model", "action"), _actions(), ids=lambda value: value if isinstance(value, str) else _label(value)
)
def test_every_admin_action_on_every_row_keeps_the_invariants(
    model: type[Model], action: str, world: dict[str, Any], staff_client: Any, rf: Any, staff: Any
) -> None:
    request = rf.get("/admin/")
    request.user = staff
    offered = admin.site._registry[model].get_actions(request)
    pks = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)]

    response = staff_client.post(
        _admin_url(model, "changelist"), {"action": action, "_selected_action": pks, "post": "yes"}
    )

    # 403: the whole selection refused, as Django does when one row may not be deleted.
    assert response.status_code in {200, 302, 403}, f"{_label(model)} {action}: {response.status_code}"
    assert_store_is_true(f"after {_label(model)} {action}")
    if _label(model) in NEVER_DELETED_BY_HAND:
        assert "delete_selected" not in offered, f"{_label(model)} rows can be deleted in bulk by hand"
        assert model._default_manager.count() == len(pks)


def test_owed_deliveries_cannot_be_deleted_by_hand_and_finished_ones_can(world: dict[str, Any], staff_client: Any):
    from carsales.events.models import Delivery

    owed = Delivery.objects.filter(status__in=Delivery.ACTIVE).first()
    assert owed is not None, "the world owes emails and expiries"
    Delivery.objects.filter(pk__in=Delivery.objects.exclude(pk=owed.pk).values("pk")[:1]).state_write(
        status=Delivery.Status.DONE
    )
    finished = Delivery.objects.get(status=Delivery.Status.DONE)

    refused = staff_client.post(_admin_url(Delivery, "delete", owed.pk), {"post": "yes"})
    allowed = staff_client.post(_admin_url(Delivery, "delete", finished.pk), {"post": "yes"})

    assert refused.status_code == 403 and Delivery.objects.filter(pk=owed.pk).exists()
    assert allowed.status_code == 302 and not Delivery.objects.filter(pk=finished.pk).exists()


def test_world_holds_an_order_in_every_state(world: dict[str, Any]) -> None:
    orders = world["orders"]
    for order in orders.values():
        order.refresh_from_db()
    assert {orders["placed"].status, orders["paid"].status, orders["cancelled"].status} == set(OrderStatus)
    assert not orders["voided"].is_active


@pytest.mark.parametrize(
    ("model", "action"), _actions(), ids=lambda value: value if isinstance(value, str) else _label(value)
)
@pytest.mark.parametrize("selected", ["abc", "1.5", "99999999999999999999999", ""])
def test_every_admin_action_given_a_row_no_list_holds_is_refused_with_a_400(
    model: type[Model], action: str, selected: str, staff_client: Any
) -> None:
    if not isinstance(model._meta.pk, models.IntegerField):
        pytest.skip("its keys are text: any of these may be one")
    response = staff_client.post(
        _admin_url(model, "changelist"), {"action": action, "_selected_action": [selected], "post": "yes"}
    )

    assert response.status_code == 400, f"{_label(model)} {action} {selected!r}: {response.status_code}"
    assert "not in the list" in response.content.decode()
