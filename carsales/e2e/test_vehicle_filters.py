"""A buyer narrows the catalogue by what they compare on: fuel, body, gearbox, mileage."""

from playwright.sync_api import Page, expect

from carsales.conftest import BrandFactory, CarFactory

from .conftest import PHONE


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


def test_on_a_phone_the_filters_fold_so_the_first_car_is_on_the_first_screen(new_context):
    CarFactory(fuel="diesel")
    page = new_context(viewport=PHONE).new_page()
    page.goto("/")

    more = page.locator("details.more-filters")
    expect(page.get_by_label("Fuel")).to_be_hidden()
    assert page.locator(".card").first.bounding_box()["y"] < PHONE["height"]  # type: ignore[index]
    page.get_by_text("More filters").click()
    page.get_by_label("Fuel").select_option(label="Diesel")
    page.wait_for_url("**fuel=diesel**")
    expect(more.locator("summary")).to_have_text("More filters (1 set)")
    # Reloaded with the filter set, it folds again and still says so.
    page.reload()
    expect(page.get_by_label("Fuel")).to_be_hidden()
    expect(more.locator("summary")).to_have_text("More filters (1 set)")


def test_on_a_wide_screen_every_filter_shows_beside_the_search_box_with_no_summary(page: Page):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/")

    expect(page.get_by_label("Fuel")).to_be_visible()
    expect(page.get_by_text("More filters")).to_be_hidden()
    # Laid out with the others, in rows across the form, not stacked in a column of their own.
    search, brand = page.get_by_label("Search").bounding_box(), page.get_by_label("Brand").bounding_box()
    assert search and brand and abs(brand["y"] - search["y"]) < 20 and brand["x"] > search["x"]


def test_a_filter_out_of_range_is_refused_with_its_reason_and_shown_even_folded(new_context):
    CarFactory()
    page = new_context(viewport=PHONE).new_page()
    page.goto("/")

    page.get_by_text("More filters").click()
    page.get_by_label("From year").fill("201")  # a typo for 2015
    page.get_by_text("More filters").click()  # folded again
    page.get_by_label("Sort by").select_option(index=1)

    expect(page.locator(".filter-errors")).to_contain_text("From year: Enter a year from 1900 on.")
    expect(page.get_by_label("From year")).to_be_visible()
