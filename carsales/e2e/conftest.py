"""Browser tests: Debian's Chromium against pytest-django's live server.

Run with the rest (`make test`); `pytest -m e2e` runs only these, `-m "not e2e"` skips them.
Screenshots of failures go to var/e2e-artifacts (the --output in pyproject.toml).
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import BrowserContext, Playwright

from carsales.conftest import BrandFactory, CarFactory, UserFactory
from carsales.orders.services import cart_for_buyer, cart_item_add, order_mark_paid, order_place

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
E2E_DIR = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test here is marked e2e and runs after the others: once Playwright's event loop is
    # up (session-wide), the rest of the run is spared Django's async-safety switch below.
    e2e = [item for item in items if E2E_DIR in Path(item.path).parents]
    for item in e2e:
        item.add_marker(pytest.mark.e2e)
        item.add_marker(pytest.mark.django_db(transaction=True))
    items[:] = [item for item in items if item not in e2e] + e2e


@pytest.fixture(scope="session")
def playwright(playwright: Playwright) -> Iterator[Playwright]:
    # Playwright's sync API keeps an asyncio loop running in the test thread, so Django refuses
    # ORM calls here (factories, assertions) unless told they are safe; they are: nothing else
    # runs in this thread meanwhile.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield playwright
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Debian's Chromium, never a browser build downloaded by `playwright install`.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(live_server: Any) -> str:
    return live_server.url


@pytest.fixture
def log_in(base_url: str) -> Callable[[BrowserContext, Any], None]:
    """Give a browser context the session of `user`, without going through the login form."""

    def log_in(context: BrowserContext, user: Any) -> None:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])

    return log_in


@pytest.fixture
def shop(staff: Any) -> dict[str, Any]:
    """A small dealership: cars of two brands, a paid order (so a sale) and a placed one."""
    vw, honda = BrandFactory(name="Volkswagen"), BrandFactory(name="Honda")
    cars = [CarFactory(brand=vw, model="Golf"), CarFactory(brand=honda, model="CR-V Hybrid Executive Edition")]
    cars += CarFactory.create_batch(4, brand=vw)
    buyer_user = UserFactory(username="maria-fernanda-albuquerque")
    cart = cart_for_buyer(buyer=buyer_user.buyer)
    cart_item_add(cart=cart, car=cars[2])
    paid = order_mark_paid(order=order_place(cart=cart, buyer=buyer_user.buyer, actor=buyer_user), actor=staff)
    cart_item_add(cart=cart, car=cars[3])
    placed = order_place(cart=cart, buyer=buyer_user.buyer, actor=buyer_user)
    cart_item_add(cart=cart, car=cars[0])
    return {"cars": cars, "buyer": buyer_user, "staff": staff, "paid": paid, "placed": placed}
