"""A buyer looks through a car's photos: buttons, the arrow keys, the strip."""

from playwright.sync_api import Page, expect

from carsales.catalog.services import car_photos_add
from carsales.conftest import CarFactory, image_upload


def test_a_buyer_browses_the_gallery_with_the_buttons_the_keyboard_and_the_strip(page: Page):
    car = CarFactory(photo=image_upload(name="cover.jpg"))
    car_photos_add(car=car, files=[image_upload(name="side.jpg"), image_upload(name="back.jpg")])
    page.goto(f"/cars/{car.pk}/")
    count = page.locator("[data-count]")
    visible = page.locator("[data-slide]:visible img")

    expect(count).to_have_text("Photo 1 of 3")
    expect(visible).to_have_count(1)
    page.get_by_role("button", name="Next photo").click()
    expect(count).to_have_text("Photo 2 of 3")
    page.locator("[data-gallery]").focus()
    page.keyboard.press("ArrowRight")
    expect(count).to_have_text("Photo 3 of 3")
    expect(visible).to_have_attribute("alt", f"{car}, photo 3 of 3")
    page.keyboard.press("ArrowRight")
    expect(count).to_have_text("Photo 1 of 3")
    page.get_by_role("button", name="Show photo 2").click()
    expect(count).to_have_text("Photo 2 of 3")
    page.get_by_role("button", name="Previous photo").click()
    expect(count).to_have_text("Photo 1 of 3")
