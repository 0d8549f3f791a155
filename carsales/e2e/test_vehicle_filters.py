"""A buyer narrows the catalogue by what they compare on: fuel, body, gearbox, mileage."""

from playwright.sync_api import Page, expect

from carsales.conftest import BrandFactory, CarFactory


def test_a_buyer_filters_by_fuel_body_and_mileage_and_reads_the_facts_on_the_cards(page: Page):
    vw = BrandFactory(name="Volkswagen")
    CarFactory(brand=vw, model="Tiguan", fuel="diesel", body="suv", transmission="automatic", mileage=42_000)
    CarFactory(brand=vw, model="Touareg", fuel="diesel", body="suv", transmission="automatic", mileage=160_000)
    CarFactory(brand=vw, model="Golf", fuel="petrol", body="hatchback", transmission="manual", mileage=20_000)
    page.goto("/")

    page.get_by_label("Fuel").select_option(label="Diesel")
    page.wait_for_url("**fuel=diesel**")
    page.get_by_label("Body").select_option(label="SUV")
    page.wait_for_url("**body=suv**")
    expect(page.locator(".card-body h2")).to_have_count(2)
    # Said to a screen reader, from the live region the results' swap fills: the page keeps one.
    expect(page.get_by_role("status")).to_have_text("2 cars")
    expect(page.locator("#results-status")).to_have_count(1)
    page.get_by_label("Max mileage (km)").fill("50000")
    page.get_by_label("Max mileage (km)").dispatch_event("change")
    page.wait_for_url("**mileage_max=50000**")

    expect(page.locator(".card-body h2")).to_have_text(["Volkswagen Tiguan"])
    expect(page.locator(".card-body .facts")).to_have_text("2021 · 42,000 km · Diesel · Automatic")


def test_a_buyer_who_mistypes_a_brand_still_finds_the_cars_and_is_told_how_the_search_was_read(page: Page):
    honda = BrandFactory(name="Honda")
    CarFactory(brand=honda, model="Civic")
    CarFactory(brand=honda, model="Jazz")
    CarFactory(brand=BrandFactory(name="Kia"), model="Ceed")
    page.goto("/")

    page.get_by_label("Search").press_sequentially("hnda civic")  # as typed: htmx searches as the box changes
    page.wait_for_url("**q=hnda%20civic**")

    expect(page.locator(".card-body h2")).to_have_text(["Honda Civic"])
    expect(page.locator(".search-note")).to_contain_text("Showing results for honda civic")
    page.get_by_label("Search").fill("")
    page.get_by_label("Search").press_sequentially("jaz hnoda")
    page.wait_for_url("**q=jaz%20hnoda**")
    expect(page.locator(".card-body h2")).to_have_text(["Honda Jazz"])
