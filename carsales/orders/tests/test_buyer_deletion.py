"""A buyer deleted (their account, by every path) while they check out or fill a first cart.

Django looks for the rows protecting a buyer, and for those it takes along, before it deletes,
without a lock; what a checkout or a cart committed in between went unseen: a foreign-key error
(a 500), or on PostgreSQL a deadlock with the checkout deleting the same cart lines. Each test
commits that write between the two, as another request would, and each path must end in a
refusal or a clean deletion, the store true."""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import ProtectedError
from django.db.models.deletion import Collector
from django.test import Client

from carsales.accounts.models import Buyer
from carsales.conftest import CarFactory, UserFactory, run_together
from carsales.core.tests.invariants import assert_store_is_true
from carsales.orders.models import Cart, CartItem, Order
from carsales.orders.services import CheckoutError, cart_for_buyer, cart_item_add, order_place

pytestmark = pytest.mark.django_db(transaction=True)


def _staff_page() -> Client:
    page = Client()
    page.force_login(UserFactory(is_staff=True, is_superuser=True))
    return page


def _answered(response: Any) -> None:
    """An admin page's answer to a deletion: done (a redirect) or refused with a page saying why."""
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:
        assert "Cannot delete" in response.content.decode()


# Each path that deletes a buyer: their account or the buyer row, by a shell or staff in the admin.
DELETES: dict[str, Callable[[Any], None]] = {
    "account": lambda user: get_user_model().objects.get(pk=user.pk).delete(),
    "accounts queryset": lambda user: get_user_model().objects.filter(pk=user.pk).delete(),
    "buyer": lambda user: Buyer.objects.get(user=user).delete(),
    "admin account page": lambda user: _answered(
        _staff_page().post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})
    ),
    "admin accounts selected": lambda user: _answered(
        _staff_page().post(
            "/admin/auth/user/", {"action": "delete_selected", "_selected_action": [user.pk], "post": "yes"}
        )
    ),
    "admin buyer page": lambda user: _answered(
        _staff_page().post(f"/admin/accounts/buyer/{user.buyer.pk}/delete/", {"post": "yes"})
    ),
}
ADMIN = {"admin account page", "admin accounts selected", "admin buyer page"}


def _meanwhile(monkeypatch: pytest.MonkeyPatch, write: Callable[[], object]) -> list[bool]:
    """Run `write` once, after the deletion of a buyer looked and before it deletes anything."""
    real = Collector.delete
    ran: list[bool] = []

    def delete(self: Collector) -> Any:
        if not ran and Buyer in self.data:
            ran.append(True)
            write()
        return real(self)

    monkeypatch.setattr(Collector, "delete", delete)
    return ran


@pytest.mark.parametrize("path", DELETES)
def test_a_buyer_deleted_while_their_checkout_commits_is_refused_never_a_database_error(monkeypatch, path):
    user = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=CarFactory())
    ran = _meanwhile(monkeypatch, lambda: order_place(cart=cart, buyer=user.buyer, actor=user))

    if path in ADMIN:
        DELETES[path](user)
    else:
        with pytest.raises(ProtectedError, match="their order #"):
            DELETES[path](user)

    assert ran
    if path in ADMIN and not Buyer.objects.filter(pk=user.buyer.pk).exists():
        # Placed in the admin request's own transaction (here), the order went with the refusal:
        # the page, asked again, found nothing keeping the account.
        assert not Order.objects.exists()
    else:
        assert Order.objects.filter(buyer__user=user).exists()
    assert_store_is_true(path)


@pytest.mark.parametrize("path", DELETES)
def test_a_buyer_deleted_while_their_first_cart_is_filled_goes_with_it(monkeypatch, path):
    user = UserFactory()
    car = CarFactory()
    ran = _meanwhile(monkeypatch, lambda: cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car))

    DELETES[path](user)

    assert ran and not Buyer.objects.filter(pk=user.buyer.pk).exists()
    assert not Cart.objects.exists() and not CartItem.objects.exists()
    assert_store_is_true(path)


ROUNDS = 6


def test_a_buyer_deleted_at_once_with_their_checkout_is_one_or_the_other():
    """Two connections at once (PostgreSQL's row locks in the second pass of `make test`)."""
    for round_number in range(ROUNDS):
        user = UserFactory()
        cart = cart_for_buyer(buyer=user.buyer)
        cart_item_add(cart=cart, car=CarFactory())

        errors = run_together(
            [
                lambda u=user, c=cart: order_place(cart=c, buyer=u.buyer, actor=u),
                lambda u=user: get_user_model().objects.get(pk=u.pk).delete(),
            ]
        )

        # The deletion first: the checkout finds the cart gone. The checkout first: the deletion
        # finds the order and is refused.
        assert len(errors) == 1 and isinstance(errors[0], ProtectedError | CheckoutError), errors
        ordered = Order.objects.filter(buyer__user=user).exists()
        assert ordered == isinstance(errors[0], ProtectedError), f"round {round_number}"
        assert_store_is_true(f"round {round_number}")


def test_a_cart_asked_for_a_buyer_deleted_meanwhile_is_a_404_not_a_cart_for_no_one():
    from carsales.core.gone import DeletedMeanwhile

    user = UserFactory()
    buyer = user.buyer  # read by a request before another deleted the account
    get_user_model().objects.get(pk=user.pk).delete()

    with pytest.raises(DeletedMeanwhile, match="buyer was deleted meanwhile"):
        cart_for_buyer(buyer=buyer)
    assert not Cart.objects.exists()


def test_a_cart_page_of_an_account_deleted_meanwhile_is_a_404_not_a_500(monkeypatch):
    """The request found its user; staff deleted the account before the view made its buyer a cart."""
    from carsales.orders import views

    user, car = UserFactory(), CarFactory()
    Buyer.objects.filter(user=user).delete()  # an account made without one (bulk_create): made on first need
    page = Client()
    page.force_login(user)
    real = views.buyer_ensure

    def deleted_first(*, user: Any) -> Buyer:
        get_user_model().objects.filter(pk=user.pk).delete()  # another request, committed in between
        return real(user=user)

    monkeypatch.setattr(views, "buyer_ensure", deleted_first)

    assert page.post(f"/cart/add/{car.pk}/").status_code == 404
    assert not Buyer.objects.exists() and not Cart.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: SQLite runs one write transaction at a time")
def test_a_first_cart_made_while_the_account_is_deleted_goes_with_it_as_its_first_line_commits():
    """The deletion looks for the buyer's cart and finds none; the buyer's request makes one and is
    adding its first car as the deletion goes on: the deletion waits for the add, and takes both."""
    user, car = UserFactory(), CarFactory()
    looked, line_written = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def deletion_looks_then_waits(execute: Any, sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if '"orders_cart"' in sql and "FOR UPDATE" in sql and not looked.is_set():
            looked.set()
            line_written.wait(10)
        return result

    def line_written_then_slow(execute: Any, sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if sql.startswith('INSERT INTO "orders_cartitem"'):
            line_written.set()
            time.sleep(0.5)  # the add's remaining work, its lock held
        return result

    def delete() -> None:
        try:
            with connection.execute_wrapper(deletion_looks_then_waits):
                get_user_model().objects.get(pk=user.pk).delete()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def add() -> None:
        try:
            looked.wait(10)
            with connection.execute_wrapper(line_written_then_slow):
                cart_item_add(cart=cart_for_buyer(buyer=Buyer.objects.get(user_id=user.pk)), car=car)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=delete), threading.Thread(target=add)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not Cart.objects.exists() and not CartItem.objects.exists()
    assert_store_is_true()


@pytest.mark.parametrize("write", ["profile", "password"])
def test_an_account_written_while_it_is_deleted_is_written_first_or_a_404(write):
    """The account's own page saving its profile or password as staff delete it: the two queue
    (the buyer's row locked first by both), never a deadlock nor a write to no row."""
    from carsales.accounts.services import buyer_profile_update, password_change
    from carsales.core.gone import DeletedMeanwhile

    for round_number in range(ROUNDS):
        user = UserFactory()
        page_read = get_user_model().objects.get(pk=user.pk)
        writes = {
            "profile": lambda u=page_read: buyer_profile_update(
                user=u, first_name="New", last_name="Name", email=u.email, phone="", base_url="http://x"
            ),
            "password": lambda u=page_read: password_change(user=u, password="another-pass-456"),
        }

        errors = run_together([lambda u=user: get_user_model().objects.get(pk=u.pk).delete(), writes[write]])

        assert all(isinstance(error, DeletedMeanwhile) for error in errors), errors
        assert not get_user_model().objects.filter(pk=user.pk).exists(), f"round {round_number}"
