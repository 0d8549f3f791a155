"""Every main page fits a phone's width and has no serious accessibility fault (axe-core)."""

from pprint import pformat
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect

from carsales.conftest import CarFactory

from .conftest import PHONE

ROLES = ["visitor", "buyer", "staff"]
# axe-core's own JavaScript, from the installed package: nothing is fetched from a CDN.
AXE = Axe()


def main_pages(role: str, shop: dict[str, Any]) -> list[str]:
    car = shop["cars"][1]
    if role == "visitor":
        return [
            "/", car.get_absolute_url(), "/cart/", "/accounts/login/", "/accounts/signup/", "/accounts/signup/sent/",
            "/no-such-page/",
        ]  # fmt: skip
    if role == "buyer":
        return [
            "/", car.get_absolute_url(), "/cart/", "/orders/", shop["paid"].get_absolute_url(), "/accounts/profile/",
            "/staff/inventory/",
        ]  # fmt: skip
    return [
        "/",
        "/orders/",
        shop["placed"].get_absolute_url(),
        f"/orders/{shop['placed'].pk}/pay/",
        shop["paid"].get_absolute_url(),
        f"/sales/{shop['paid'].sale.pk}/void/",
        "/cars/new/",
        f"/cars/{car.pk}/edit/",
        f"/cars/{car.pk}/photos/",
        "/brands/",
        "/staff/inventory/",
        "/staff/sales/",
        "/staff/signals/",
        "/staff/timeline/",
        "/staff/requests/",
        "/staff/events/",
        "/staff/lockouts/",
    ]


def open_as(role: str, shop: dict[str, Any], context: BrowserContext, log_in) -> Page:
    page = context.new_page()
    if role == "visitor":
        # A visitor's cart with a car in it, so the cart page shows its table.
        page.goto(shop["cars"][1].get_absolute_url())
        page.get_by_role("button", name="Add to cart").click()
    else:
        log_in(context, shop[role])
    return page


@pytest.mark.parametrize("role", ROLES)
def test_no_main_page_scrolls_sideways_on_a_phone(role, shop, new_context, log_in):
    page = open_as(role, shop, new_context(viewport=PHONE), log_in)
    too_wide = {}

    for url in main_pages(role, shop):
        page.goto(url)
        width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width > viewport:
            too_wide[url] = width

    assert not too_wide, f"scroll width over {PHONE['width']} px: {too_wide}"


@pytest.mark.parametrize("width", ["desktop", "phone"])
@pytest.mark.parametrize("role", ROLES)
def test_the_main_pages_have_no_serious_accessibility_violation(role, width, shop, new_context, log_in):
    # On a phone the wide tables scroll sideways: a keyboard must reach those too.
    page = open_as(role, shop, new_context(**({"viewport": PHONE} if width == "phone" else {})), log_in)
    found = {}

    for url in main_pages(role, shop):
        page.goto(url)
        assert "<" not in page.title(), f"{url}: markup in the title: {page.title()[:80]!r}"  # a block left open
        violations = AXE.run(page).response["violations"]
        serious = [
            f"{v['id']}: {[node['target'] for node in v['nodes']]}"
            for v in violations
            if v["impact"] in {"serious", "critical"}
        ]
        if serious:
            found[url] = serious

    assert not found, pformat(found, width=200)


def test_the_favicon_is_served_at_favicon_ico(page: Page):
    response = page.request.get("/favicon.ico")

    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize("role", ["buyer", "staff"])
def test_the_order_list_shows_every_column_of_every_order_on_a_phone(role, shop, new_context, log_in):
    page = open_as(role, shop, new_context(viewport=PHONE), log_in)
    page.goto("/orders/")

    # No cell left past the screen's edge for a sideways scroll to find (each row is stacked).
    cut = page.evaluate(
        "[...document.querySelectorAll('table.stacks td')]"
        ".filter(cell => cell.getBoundingClientRect().right > window.innerWidth + 1).map(cell => cell.dataset.label)"
    )
    assert page.locator("table.stacks td[data-label='Total']").count() >= 1 and cut == []


def test_a_keyboard_user_skips_the_menu_and_sees_where_the_focus_is(page: Page):
    page.goto("/")
    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to the content")
    assert skip.is_visible() and skip.evaluate("link => link === document.activeElement")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


SMALL_PHONE = {"width": 320, "height": 640}


@pytest.mark.parametrize("width", ["small phone", "phone", "desktop"])
def test_the_carts_count_is_in_sight_without_opening_the_menu_and_said_once(width, new_context):
    car = CarFactory()
    viewport = {"small phone": SMALL_PHONE, "phone": PHONE}.get(width)
    page = new_context(**({"viewport": viewport} if viewport else {})).new_page()
    page.goto(car.get_absolute_url())
    expect(page.get_by_role("link", name="Cart", exact=True)).to_have_count(1 if width == "desktop" else 0)
    page.get_by_role("button", name="Add to cart").click()

    cart = page.get_by_role("link", name="Cart, 1 car")
    expect(cart).to_be_visible()  # the Menu still closed on a phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # the header fits
    if viewport:
        page.locator(".site-menu > summary").click()
        expect(page.get_by_role("link", name="Cars", exact=True)).to_be_visible()
    expect(cart).to_have_count(1)  # one link a screen reader reads, the menu open or not
    cart.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    if viewport:  # the total under one line, not the last car's and the total's own
        lines = page.evaluate(
            "[getComputedStyle(document.querySelector('.cart-table tbody tr:last-child')).borderBottomWidth,"
            " getComputedStyle(document.querySelector('.cart-table tfoot th')).borderTopWidth]"
        )
        assert lines == ["0px", "0px"]
