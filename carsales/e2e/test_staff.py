"""Staff at work: a new car with its photo, a price change, the inventory, a payment, the sales page."""

from decimal import Decimal

from django.conf import settings
from playwright.sync_api import Page, expect

from carsales.catalog.models import Car
from carsales.conftest import BrandFactory, CarFactory, UserFactory, image_bytes
from carsales.core.money import format_money
from carsales.e2e.conftest import PHONE
from carsales.orders.services import cart_for_buyer, cart_item_add, order_place


def stat(page: Page, label: str) -> str:
    return page.locator(".stat", has_text=label).locator(".stat-value").inner_text()


def test_staff_list_a_car_with_a_photo_reprice_it_and_record_a_sale(page: Page, context, log_in, staff, run_tasks):
    BrandFactory(name="Kia")
    CarFactory(value=Decimal("10000"))
    buyer = UserFactory().buyer
    cart_item_add(cart=cart_for_buyer(buyer=buyer), car=CarFactory(value=Decimal("7000")))
    order = order_place(cart=cart_for_buyer(buyer=buyer), buyer=buyer, actor=buyer.user)
    log_in(context, staff)
    page.goto("/staff/inventory/")
    expect(page.get_by_role("heading", name="Inventory")).to_be_visible()
    cars_before = int(stat(page, "Cars in stock"))

    page.get_by_role("link", name="Add car").click()
    page.get_by_label("Brand").select_option(label="Kia")
    page.get_by_label("Model", exact=True).fill("Sportage")
    page.get_by_label("Factory year").fill("2022")
    page.get_by_label("Model year").fill("2023")
    page.get_by_label("Plate").fill("kia4e2e")
    page.get_by_label("Price (optional)", exact=True).fill("21000")
    page.get_by_label("Photo").set_input_files(
        files=[{"name": "sportage.jpg", "mimeType": "image/jpeg", "buffer": image_bytes(1200, 800)}]
    )
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message.success")).to_contain_text("Kia Sportage 2023 is in the catalogue")
    car = Car.objects.get(plate="KIA4E2E")
    expect(page.get_by_role("img", name=str(car))).to_have_js_property("naturalWidth", 1200)

    run_tasks()  # the worker makes the thumbnail after the commit
    car.refresh_from_db()
    page.goto("/?q=Sportage")
    thumbnail = page.locator(".card-photo img")
    expect(thumbnail).to_have_attribute("src", car.thumbnail.url)
    expect(thumbnail).to_have_js_property("naturalWidth", settings.CARSALES_THUMBNAIL_SIZE)

    page.goto(car.get_absolute_url())
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Price (optional)", exact=True).fill("19500")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".price.big")).to_contain_text(format_money(Decimal("19500")))
    expect(page.locator(".price.big .badge.dropped")).to_contain_text(f"Price dropped {format_money(Decimal('21000'))}")

    page.get_by_role("link", name="Inventory", exact=True).click()
    expect(page.locator(".stat", has_text="Cars in stock").locator(".stat-value")).to_have_text(str(cars_before + 1))
    expect(page.locator(".stat", has_text="Value in stock").locator(".stat-value")).to_have_text(
        format_money(Decimal("10000") + Decimal("7000") + Decimal("19500"))
    )

    page.goto(order.get_absolute_url())
    page.get_by_role("link", name="Mark paid…").click()
    expect(page.get_by_role("heading", name=f"Mark order #{order.pk} paid?")).to_be_visible()
    page.get_by_label("Paid by").select_option(label="Bank transfer")
    page.get_by_label("Payment reference (optional)").fill("TR 2026-118")
    page.get_by_role("button", name="Record the payment").click()
    expect(page.locator(".message.success")).to_have_text(f"Order #{order.pk} is paid.")
    expect(page.get_by_text("by bank transfer (reference TR 2026-118)")).to_be_visible()
    page.get_by_role("link", name="Sales", exact=True).click()
    latest_sales = page.locator(".panel", has=page.get_by_role("heading", name="Latest sales"))
    expect(latest_sales.get_by_role("link", name=f"#{order.pk}")).to_be_visible()
    expect(latest_sales).to_contain_text(format_money(Decimal("7000")))


def test_the_signal_diagram_says_to_scroll_it_sideways_where_it_is_wider_than_the_screen(new_context, log_in, staff):
    for viewport, hinted in ((PHONE, True), ({"width": 1280, "height": 800}, False)):
        context = new_context(viewport=viewport)
        log_in(context, staff)
        page = context.new_page()
        page.goto("/staff/signals/")
        hint = page.get_by_text("scroll it sideways to follow a signal")
        expect(hint).to_be_visible() if hinted else expect(hint).to_be_hidden()
        region = page.get_by_role("region", name="Who sends, who reacts")
        assert region.evaluate("box => box.scrollWidth > box.clientWidth") == hinted
