"""A visitor's and buyers' paths through the shop, in a real browser."""

import re
from urllib.parse import parse_qs, urlparse

from django.core import mail
from playwright.sync_api import Page, expect

from carsales.conftest import BrandFactory, CarFactory, UserFactory
from carsales.events.models import Delivery
from carsales.orders.models import Order

PASSWORD = "a-long-test-passphrase-42"


def search(page: Page, text: str) -> None:
    page.get_by_label("Search").fill(text)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"**q={text}**")


def test_page_two_of_a_search_keeps_the_search(page: Page):
    vw = BrandFactory(name="Volkswagen")
    CarFactory.create_batch(14, brand=vw, model="Golf")
    CarFactory.create_batch(13, brand=vw, model="Polo")
    page.goto("/")
    search(page, "Golf")
    expect(page.locator(".result-count")).to_have_text("14 cars · Clear the filters")

    page.get_by_role("link", name="Next →").click()

    page.wait_for_load_state()
    assert parse_qs(urlparse(page.url).query).get("q") == ["Golf"]
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.locator(".card-body h2")).to_have_text(["Volkswagen Golf"] * 2)


def test_a_visitor_finds_a_car_signs_up_and_their_cart_becomes_an_order(page: Page, run_tasks):
    golf = CarFactory(brand=BrandFactory(name="Volkswagen"), model="Golf")
    CarFactory(brand=BrandFactory(name="Honda"), model="Civic")
    page.goto("/")
    search(page, "Golf")
    expect(page.locator(".result-count")).to_have_text("1 car · Clear the filters")

    page.locator(".card-body h2 a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Volkswagen Golf")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator(".message.success")).to_have_text(f"{golf} is in your cart.")

    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Email").fill("ana@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    run_tasks()
    page.goto(re.search(r"https?://[^/]+(/accounts/signup/\S+/)", mail.outbox.pop().body).group(1))
    page.get_by_role("button", name="Confirm my account").click()
    expect(page.locator(".message.success")).to_have_text("Welcome, Ana! Your account is ready.")

    page.get_by_role("link", name="Cart").click()
    expect(page.locator("tbody")).to_contain_text(str(golf))
    page.get_by_role("button", name="Place order").click()
    expect(page.locator(".message.success")).to_contain_text("is placed")
    order = Order.objects.get(buyer__user__username="ana")

    page.get_by_role("link", name="My orders").click()
    expect(page.get_by_role("row", name=f"#{order.pk}")).to_contain_text("Volkswagen Golf")

    run_tasks()
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["ana@example.com"], f"Your carsales order #{order.pk} has been placed")
    ]
    assert Delivery.objects.filter(receiver="notifications.confirm_placed_order").get().status == Delivery.Status.DONE


def two_buyers_in_a_race_for_one_car(new_context, log_in) -> tuple[Page, Page, str]:
    """Both buyers have the car in their cart page; the first places the order, then the second."""
    car = CarFactory()
    pages = []
    for name in ("first", "second"):
        context = new_context()
        log_in(context, UserFactory(username=name))
        page = context.new_page()
        page.goto(car.get_absolute_url())
        page.get_by_role("button", name="Add to cart").click()
        expect(page.locator("tbody")).to_contain_text(str(car))
        pages.append(page)
    first, second = pages
    first.get_by_role("button", name="Place order").click()
    expect(first.locator(".message.success")).to_contain_text("is placed")
    second.get_by_role("button", name="Place order").click()
    expect(second.locator(".messages .message.error")).to_be_visible()
    return first, second, str(car)


def test_of_two_buyers_of_one_car_exactly_one_places_an_order(new_context, log_in):
    two_buyers_in_a_race_for_one_car(new_context, log_in)

    assert list(Order.objects.values_list("buyer__user__username", flat=True)) == ["first"]


def test_the_buyer_who_lost_the_race_is_told_which_car_went(new_context, log_in):
    _, second, car = two_buyers_in_a_race_for_one_car(new_context, log_in)

    expect(second.locator(".messages .message.error")).to_have_text(
        "Your order was not placed: the car marked below cannot be ordered now."
    )
    marked = second.get_by_role("row").filter(has_text=car)
    expect(marked.locator(".cart-note")).to_contain_text("Another buyer's order holds this car for now.")


def test_a_buyer_opening_a_staff_page_gets_the_403_page(page: Page, context, log_in, user):
    log_in(context, user)

    response = page.goto("/staff/inventory/")

    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This page is for our staff")
    expect(page.get_by_role("link", name="Browse our cars")).to_be_visible()


def test_a_form_sent_back_with_errors_puts_the_focus_on_the_first_field_to_fix(page: Page):
    page.goto("/accounts/signup/")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Email").fill("ana@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD + "!")
    page.get_by_role("button", name="Sign up").click()

    confirmation = page.get_by_label("Password confirmation")
    expect(confirmation).to_be_focused()  # not the first name the form focuses first
    described = confirmation.get_attribute("aria-describedby") or ""
    assert "id_password2_error" in described.split()
    page.goto("/?price_min=-5")  # a filter refused in a link: said beside it, the focus left alone
    expect(page.get_by_label("Min price")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("document.activeElement === document.body")
