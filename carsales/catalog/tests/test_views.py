import html
import re
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from carsales.catalog.forms import CarForm
from carsales.catalog.models import Brand, Car, CarStatus, next_year
from carsales.conftest import BrandFactory, CarFactory, image_bytes, image_upload, order_for, reserved_car, sold_car

pytestmark = pytest.mark.django_db
LATEST = next_year()  # the latest model year a car may have


def car_form_data(brand: Brand, **overrides):
    data = {
        "brand": brand.pk,
        "model": "Corolla",
        "factory_year": 2020,
        "model_year": 2021,
        "plate": "ABC1234",
        "value": "25000",
        "status": CarStatus.AVAILABLE,
        "bio": "",
    }
    data.update(overrides)
    return data


def test_the_list_searches_model_or_brand_in_any_case(client):
    CarFactory(brand=BrandFactory(name="Toyota"), model="Corolla")
    CarFactory(brand=BrandFactory(name="Ford"), model="Focus")

    by_model = client.get("/", {"q": "coROLla"}).context["page"].object_list
    by_brand = client.get("/", {"q": "FORD"}).context["page"].object_list

    assert [c.model for c in by_model] == ["Corolla"]
    assert [c.model for c in by_brand] == ["Focus"]


@pytest.mark.parametrize(
    "search, found",
    [
        ("honda civic", ["Civic"]),
        ("  CIVIC   honda ", ["Civic"]),
        ("civic", ["Civic", "Civic"]),
        ("honda", ["Accord", "Civic"]),
        ("honda corolla", []),
    ],
)
def test_every_word_of_the_search_must_match_the_brand_or_the_model(client, search, found):
    honda = BrandFactory(name="Honda")
    CarFactory(brand=honda, model="Civic")
    CarFactory(brand=honda, model="Accord")
    CarFactory(brand=BrandFactory(name="Toyota"), model="Corolla")
    CarFactory(brand=BrandFactory(name="Kit cars"), model="Civic")

    page = client.get("/", {"q": search, "ordering": "newest"}).context["page"]

    assert sorted(c.model for c in page) == found


def test_the_list_filters_by_brand_price_and_year(client):
    fiat = BrandFactory(name="Fiat")
    CarFactory(brand=fiat, model="Cheap", value=5000, factory_year=2010, model_year=2010)
    CarFactory(brand=fiat, model="Match", value=20000, factory_year=2019, model_year=2020)
    CarFactory(brand=fiat, model="Dear", value=90000, factory_year=2023, model_year=2023)
    CarFactory(model="Other brand", value=20000, factory_year=2019, model_year=2020)

    page = client.get(
        "/", {"brand": "fiat", "price_min": 10000, "price_max": 50000, "year_min": 2015, "year_max": 2022}
    ).context["page"]

    assert [c.model for c in page] == ["Match"]


def test_the_list_orders_by_price(client):
    for value in (300, 100, 200):
        CarFactory(value=value)

    ascending = [c.value for c in client.get("/", {"ordering": "price"}).context["page"]]
    descending = [c.value for c in client.get("/", {"ordering": "-price"}).context["page"]]

    assert ascending == [100, 200, 300]
    assert descending == [300, 200, 100]


def test_the_list_is_paginated(client):
    CarFactory.create_batch(15)

    first = client.get("/").context["page"]
    second = client.get("/", {"page": 2}).context["page"]

    assert len(first) == 12 and len(second) == 3


def test_buyers_see_only_available_cars_and_staff_see_all(buyer_client, staff):
    CarFactory(model="On sale")
    sold_car(model="Gone")
    staff_client = Client()
    staff_client.force_login(staff)

    assert [c.model for c in buyer_client.get("/").context["page"]] == ["On sale"]
    assert {c.model for c in staff_client.get("/").context["page"]} == {"On sale", "Gone"}
    # Staff pick out the cars of one state, so a count on screen means what the inventory's does.
    assert [c.model for c in staff_client.get("/", {"status": "sold"}).context["page"]] == ["Gone"]
    assert 'name="status"' in staff_client.get("/").content.decode()
    assert 'name="status"' not in buyer_client.get("/").content.decode()


@pytest.mark.parametrize("per_page", [12, 48])
def test_a_list_page_costs_the_same_queries_whatever_its_size(client, django_assert_num_queries, per_page):
    CarFactory.create_batch(50, photo=None)
    client.get("/", {"q": "Model"})  # reads the brand and model words a search corrects against, then cached

    # session-less anonymous request: the catalogue's version, count + page of cars (brand joined),
    # the gallery's first photo of those without a cover (all of them), brands for the filter
    with django_assert_num_queries(5):
        response = client.get("/", {"per_page": per_page, "q": "Model"})
    # the same page again, from the cache: the version only
    with django_assert_num_queries(1):
        again = client.get("/", {"q": "Model", "per_page": per_page})

    assert len(response.context["page"]) == per_page
    assert again.context is None  # an anonymous visitor's page served whole from the cache: nothing rendered
    assert again.content == response.content and b"csrftoken" not in again.cookies.output().encode()


def test_an_htmx_request_gets_only_the_results(client):
    CarFactory(model="Corolla")

    response = client.get("/", {"q": "corolla"}, headers={"HX-Request": "true"})

    assert b"Corolla" in response.content and b"<html" not in response.content


def test_the_detail_page_shows_the_car(client):
    car = CarFactory(model="Golf", value=Decimal("19999.50"))

    response = client.get(f"/cars/{car.pk}/")

    assert (
        b"Golf" in response.content
        and b"$19,999.50" in response.content
        and car.stock_code.encode() in response.content
    )


def test_changing_the_price_leaves_the_old_price_only_in_the_price_history(staff_client, client, run_tasks):
    car = CarFactory(model="Golf", value=Decimal("45999.99"), bio="")
    run_tasks()  # the generated sales text

    staff_client.post(f"/cars/{car.pk}/edit/", car_form_data(car.brand, plate=car.plate, value="39999", bio=""))
    run_tasks()
    page = client.get(f"/cars/{car.pk}/").content.decode()

    bio = page[page.index('<div class="bio">') : page.index("</div>", page.index('<div class="bio">'))]
    start = page.index('<details class="price-history"')
    history = page[start : page.index("</details>", start)]
    assert "$39,999" in page and "Price dropped <s>$45,999.99</s>" in page
    assert "45,999" not in bio and "$45,999.99" in history


def test_a_bio_written_by_staff_survives_an_edit_of_the_price(staff_client):
    car = CarFactory(bio="One owner, garage kept.", value=Decimal("30000"))

    staff_client.post(f"/cars/{car.pk}/edit/", car_form_data(car.brand, plate=car.plate, value="27500", bio=car.bio))
    staff_client.patch(f"/api/cars/{car.pk}/", {"value": "26000"}, content_type="application/json")
    car.refresh_from_db()

    assert car.bio == "One owner, garage kept." and car.value == Decimal("26000")


def test_a_buyer_cannot_reach_the_staff_pages(buyer_client):
    car = CarFactory()

    for url in ["/cars/new/", f"/cars/{car.pk}/edit/", f"/cars/{car.pk}/delete/", "/brands/", "/staff/inventory/"]:
        response = buyer_client.get(url)
        assert response.status_code == 403, url


def test_staff_add_a_car_with_a_photo(staff_client, run_tasks):
    brand = BrandFactory()

    response = staff_client.post("/cars/new/", {**car_form_data(brand), "photo": image_upload(1000, 600)})

    run_tasks()
    car = Car.objects.get(plate="ABC1234")
    assert response.status_code == 302 and response["Location"] == car.get_absolute_url()
    assert car.thumbnail and len(car.stock_code) == 10


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"value": "-1"}, "value", "A price is above zero"),
        ({"factory_year": 2022, "model_year": 2021}, "model_year", "cannot be before the factory year"),
        ({"factory_year": 1899, "model_year": 1900}, "factory_year", "Enter a year from 1900 on."),
        ({"factory_year": -2020, "model_year": 1900}, "factory_year", "Enter a year from 1900 on."),
        ({"factory_year": date.today().year + 1}, "factory_year", "cannot be after"),
    ],
)
def test_staff_get_a_form_error_for_a_bad_value(staff_client, overrides, field, message):
    response = staff_client.post("/cars/new/", car_form_data(BrandFactory(), **overrides))

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Car.objects.exists()


def test_staff_get_a_form_error_for_a_plate_already_used(staff_client):
    CarFactory(plate="ABC1234")

    response = staff_client.post("/cars/new/", car_form_data(BrandFactory(), plate="abc1234"))

    assert "Another car, on sale or sold, has this plate." in response.context["form"].errors["plate"]
    assert Car.objects.count() == 1


def test_a_file_that_is_not_an_image_gets_a_form_error(staff_client):
    fake = SimpleUploadedFile("car.jpg", b"definitely not a jpeg", content_type="image/jpeg")

    response = staff_client.post("/cars/new/", {**car_form_data(BrandFactory()), "photo": fake})

    assert response.status_code == 200 and response.context["form"].errors["photo"]
    assert not Car.objects.exists()


def test_a_photo_over_the_size_limit_gets_a_form_error(staff_client, settings):
    settings.CARSALES_MAX_UPLOAD_BYTES = 1000

    response = staff_client.post("/cars/new/", {**car_form_data(BrandFactory()), "photo": image_upload(800, 600)})

    assert "the limit is 1000" in response.context["form"].errors["photo"][0]


def test_a_decompression_bomb_gets_a_form_error(staff_client, settings):
    settings.CARSALES_MAX_IMAGE_PIXELS = 100 * 100
    bomb = SimpleUploadedFile("bomb.png", image_bytes(4000, 4000, "PNG"), content_type="image/png")

    response = staff_client.post("/cars/new/", {**car_form_data(BrandFactory()), "photo": bomb})

    assert "pixels" in " ".join(response.context["form"].errors["photo"])
    assert not Car.objects.exists()


@pytest.mark.parametrize("size", [(20, 20), (399, 300), (600, 299), (299, 600)])
def test_a_photo_too_small_to_show_is_refused_on_the_page_the_gallery_and_the_api(staff_client, size):
    car = CarFactory()
    small = SimpleUploadedFile("tiny.png", image_bytes(*size, "PNG"), content_type="image/png")
    said = f"The photo is {size[0]} x {size[1]} pixels: too small to show on the car's page."

    page = staff_client.post("/cars/new/", {**car_form_data(BrandFactory()), "photo": small})
    small.seek(0)
    gallery = staff_client.post(f"/cars/{car.pk}/photos/", {"photos": [small]})
    small.seek(0)
    api = staff_client.post(f"/api/cars/{car.pk}/photos/", {"photos": [small]})

    assert any(said in error for error in page.context["form"].errors["photo"])
    assert gallery.status_code == 400 and said in html.unescape(gallery.content.decode())
    assert api.status_code == 400 and said in str(api.json())
    assert Car.objects.count() == 1 and not car.photos.exists()
    portrait = SimpleUploadedFile("ok.png", image_bytes(300, 400, "PNG"), content_type="image/png")
    assert staff_client.post(f"/cars/{car.pk}/photos/", {"photos": [portrait]}).status_code == 302


def test_staff_edit_a_car(staff_client):
    car = CarFactory(value=1000)

    response = staff_client.post(f"/cars/{car.pk}/edit/", car_form_data(car.brand, plate=car.plate, value="1500"))

    assert response.status_code == 302
    car.refresh_from_db()
    assert car.value == 1500


def test_staff_delete_a_car_after_confirming(staff_client):
    car = CarFactory()

    assert staff_client.get(f"/cars/{car.pk}/delete/").status_code == 200
    response = staff_client.post(f"/cars/{car.pk}/delete/")

    assert response.status_code == 302 and not Car.objects.exists()


def test_deleting_a_brand_that_still_has_cars_is_refused_with_a_message(staff_client):
    car = CarFactory(brand=BrandFactory(name="Lada"))

    response = staff_client.post(f"/brands/{car.brand.pk}/delete/", follow=True)

    assert Brand.objects.filter(name="Lada").exists()
    assert "Lada still has 1 car; delete or move them first." in [str(m) for m in response.context["messages"]]


def test_deleting_a_brand_is_asked_first_and_one_with_cars_says_so_before_asking(staff_client):
    kept, unused = CarFactory(brand=BrandFactory(name="Lada")).brand, BrandFactory(name="Trabant")

    listed = staff_client.get("/brands/").content.decode()
    asked = staff_client.get(f"/brands/{unused.pk}/delete/").content.decode()
    refused = staff_client.get(f"/brands/{kept.pk}/delete/").content.decode()

    assert f'href="/brands/{unused.pk}/delete/"' in listed and "Delete Trabant?" in asked
    assert f'href="/brands/{kept.pk}/delete/"' not in listed and "Kept: cars use this brand" in listed
    assert 'type="submit">Delete' in asked and Brand.objects.filter(pk=unused.pk).exists()
    assert "Lada still has 1 car; delete or move them first." in refused and 'type="submit"' not in refused


def test_deleting_a_brand_without_cars_works(staff_client):
    brand = BrandFactory(name="Trabant")

    staff_client.post(f"/brands/{brand.pk}/delete/")

    assert not Brand.objects.filter(pk=brand.pk).exists()


def test_staff_add_a_brand(staff_client):
    staff_client.post("/brands/", {"name": "Alfa Romeo"})

    assert Brand.objects.get(name="Alfa Romeo").slug == "alfa-romeo"


def test_the_next_page_link_keeps_the_search_and_filters(client):
    fiat = BrandFactory(name="Fiat")
    CarFactory.create_batch(15, brand=fiat, model="Uno", value=20000)
    CarFactory.create_batch(3, model="Other")
    filters = {"q": "uno", "brand": "fiat", "price_min": "1000", "ordering": "price", "per_page": "12"}

    first = client.get("/", filters)
    next_href = html.unescape(re.search(r'href="([^"]*)">Next', first.content.decode()).group(1))
    second = client.get(f"/{next_href}")

    assert next_href.startswith("?") and not next_href.startswith("??")
    assert parse_qs(next_href[1:]) == {**{k: [v] for k, v in filters.items()}, "page": ["2"]}
    assert [c.model for c in second.context["page"]] == ["Uno"] * 3


@pytest.mark.parametrize(
    ("asked", "shown"), [("0", 1), ("-3", 1), ("junk", 1), ("", 1), ("2", 2), ("3", 2), ("99999999999999999999", 2)]
)
def test_a_page_number_out_of_range_shows_the_nearest_page(client, asked, shown):
    CarFactory.create_batch(13)

    assert client.get("/", {"page": asked}).context["page"].number == shown


def test_adding_a_brand_named_like_an_existing_one_in_another_case_says_it_exists(staff_client, honda_and_mercedes):
    response = staff_client.post("/brands/", {"name": "honda"})

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["A brand named Honda already exists."]
    assert Brand.objects.count() == 2


def test_a_brand_whose_slug_is_taken_gets_a_slug_of_its_own(staff_client, honda_and_mercedes):
    response = staff_client.post("/brands/", {"name": "Mercedes Benz"})

    assert response.status_code == 302
    assert Brand.objects.get(name="Mercedes Benz").slug == "mercedes-benz-2"


def test_a_brand_name_in_another_script_keeps_it_in_its_slug(staff_client):
    response = staff_client.post("/brands/", {"name": "日産"})

    assert response.status_code == 302
    assert Brand.objects.get(name="日産").slug == "日産"


def test_a_brand_name_without_a_letter_or_digit_gets_a_form_error(staff_client):
    response = staff_client.post("/brands/", {"name": "!!!"})

    assert response.status_code == 200
    assert "letter or digit" in response.context["form"].errors["name"][0]
    assert not Brand.objects.exists()


@pytest.mark.parametrize("name", ["honda", "Mercedes Benz", "日産", "!!!"])
def test_adding_a_brand_never_fails_with_a_server_error(staff_client, honda_and_mercedes, name):
    staff_client.raise_request_exception = False

    response = staff_client.post("/brands/", {"name": name})

    assert response.status_code in (200, 302)
    assert response.status_code == 302 or response.context["form"].errors


def test_a_chosen_photo_that_is_lost_to_another_error_is_asked_for_again(staff_client):
    data = {**car_form_data(BrandFactory(), factory_year=2022, model_year=2021), "photo": image_upload()}

    response = staff_client.post("/cars/new/", data)

    assert response.context["form"].errors["photo"] == [CarForm.PHOTO_NOT_KEPT]
    assert CarForm.PHOTO_NOT_KEPT in response.content.decode()
    assert not Car.objects.exists()
    # Both named at the top, before the fields, each a link to its field.
    page = response.content.decode()
    summary = page[page.index('<div class="form-errors" role="alert">') : page.index("<fieldset")]
    assert "Please correct these 2 fields:" in summary
    assert '<a href="#id_model_year">' in summary and '<a href="#id_photo">Photo</a>' in summary


def _car_form_sections(page: str) -> dict[str, str]:
    """Each section of the car form as served, by its legend."""
    sections = re.findall(r'<fieldset class="form-section">\s*<legend>(.*?)</legend>(.*?)</fieldset>', page, re.S)
    return {html.unescape(title): body for title, body in sections}


def test_the_car_form_shows_every_field_once_in_its_section_with_label_and_help(staff_client):
    form = CarForm()

    sections = _car_form_sections(staff_client.get("/cars/new/").content.decode())

    assert list(sections) == list(CarForm.SECTIONS)
    assert sorted(name for names in CarForm.SECTIONS.values() for name in names) == sorted(
        field.name for field in form.visible_fields()
    )  # each field in one section: a field left out of SECTIONS would vanish from the page
    for title, names in CarForm.SECTIONS.items():
        for name in names:
            field = form[name]
            optional = "" if field.field.required else ' <span class="optional">(optional)</span>'
            assert f'<label for="{field.id_for_label}">{field.label}{optional}</label>' in sections[title]
            if field.help_text:
                assert f'id="{field.auto_id}_helptext">{field.help_text}' in html.unescape(sections[title])


def test_a_car_form_error_is_shown_by_its_field_in_its_section_and_summed_up_in_page_order(staff_client):
    data = car_form_data(BrandFactory(), factory_year=2022, model_year=2021, doors=12)

    page = staff_client.post("/cars/new/", data).content.decode()

    sections = _car_form_sections(page)
    assert 'id="id_model_year_error"' in sections["The car"]
    assert 'id="id_doors_error"' in sections["Specification"]
    summary = page[page.index('<div class="form-errors" role="alert">') : page.index("<fieldset")]
    assert summary.index('href="#id_model_year"') < summary.index('href="#id_doors"')


def test_a_chosen_photo_lost_to_an_error_on_the_edit_page_is_asked_for_again(staff_client):
    car = CarFactory()
    data = {**car_form_data(car.brand, plate=car.plate, value="-5"), "photo": image_upload()}

    response = staff_client.post(f"/cars/{car.pk}/edit/", data)

    assert response.context["form"].errors["photo"] == [CarForm.PHOTO_NOT_KEPT]


def test_no_photo_is_asked_for_when_none_was_chosen(staff_client):
    response = staff_client.post("/cars/new/", car_form_data(BrandFactory(), value="-5"))

    assert "photo" not in response.context["form"].errors


def test_a_photo_with_its_own_error_shows_only_that_error(staff_client):
    fake = SimpleUploadedFile("car.jpg", b"not a jpeg", content_type="image/jpeg")

    response = staff_client.post("/cars/new/", {**car_form_data(BrandFactory(), value="-5"), "photo": fake})

    errors = response.context["form"].errors["photo"]
    assert len(errors) == 1 and errors[0].startswith("Upload a photo in JPEG, PNG or WebP")


def test_the_car_page_shows_the_bios_line_breaks_and_escapes_its_markup(client):
    car = CarFactory(bio="One owner.\nGarage kept.\n\n<b>New tyres</b>")

    page = client.get(f"/cars/{car.pk}/").content.decode()

    assert "<p>One owner.<br>Garage kept.</p>" in page
    assert "<p>&lt;b&gt;New tyres&lt;/b&gt;</p>" in page


@pytest.mark.parametrize(
    "filters, message",
    [
        ({"price_min": "-1"}, "Min price: A price cannot be negative."),
        ({"price_max": "-100"}, "Max price: A price cannot be negative."),
        ({"price_min": "5000", "price_max": "1000"}, "Max price: The max price cannot be below the min price."),
        ({"year_min": "2020", "year_max": "2010"}, "To year: The to year cannot be before the from year."),
        ({"year_min": "3000"}, f"From year: No car is newer than {LATEST}: choose {LATEST} or earlier."),
        ({"price_min": "1e400"}, "Min price: No car costs that much: enter a smaller price."),
        ({"year_min": "201"}, "From year: Enter a year from 1900 on."),
        ({"mileage_max": "-5"}, "Max mileage (km): A mileage cannot be negative."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_a_filter_that_cannot_match_says_why_on_the_list(client, filters, message, htmx):
    headers = {"HX-Request": "true"} if htmx else {}

    response = client.get("/", filters, headers=headers)

    assert response.status_code == 200 and message in response.content.decode()


@pytest.mark.parametrize("htmx", [False, True])
def test_a_filter_refused_is_said_to_be_left_out_while_the_others_still_choose_the_cars(client, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    CarFactory(model="Cheap", value=Decimal("5000"))
    CarFactory(model="Dear", value=Decimal("50000"))

    one = client.get("/", {"price_min": "abc", "price_max": "10000"}, headers=headers)
    two = client.get("/", {"price_min": "abc", "year_min": "3000"}, headers=headers)

    assert [car.model for car in one.context["page"]] == ["Cheap"]
    assert "This filter is left out: the cars below are found without it." in one.content.decode()
    assert "These filters are left out: the cars below are found without them." in two.content.decode()
    assert "left out" not in client.get("/", {"price_max": "10000"}, headers=headers).content.decode()


def test_a_car_without_a_price_is_on_request_in_the_list(client):
    CarFactory(model="Unpriced", value=None)

    page = client.get("/").content.decode()

    assert "Price on request" in page and "—" not in page


def test_a_car_without_a_price_is_on_request_on_its_page_without_add_to_cart(client):
    car = CarFactory(value=None)

    page = client.get(f"/cars/{car.pk}/").content.decode()

    assert "Price on request" in page and "Add to cart" not in page


def test_a_sold_car_page_shows_it_sold_without_add_to_cart_to_anyone(client):
    car = sold_car(model="Civic")

    response = client.get(f"/cars/{car.pk}/")

    page = response.content.decode()
    assert response.status_code == 200 and "Civic" in page
    assert "This car has been sold." in page and "Add to cart" not in page


def test_staff_are_offered_delete_only_for_a_car_no_order_holds(staff_client):
    from carsales.conftest import reserved_car

    on_sale, reserved, sold = CarFactory(), reserved_car(), sold_car()

    for car, offered in ((on_sale, True), (reserved, False), (sold, False)):
        page = staff_client.get(f"/cars/{car.pk}/").content.decode()
        assert (f'href="/cars/{car.pk}/delete/"' in page) == offered


def test_a_sold_car_page_offers_four_similar_available_cars(client):
    honda, toyota = BrandFactory(name="Honda"), BrandFactory(name="Toyota")
    sold = sold_car(brand=honda, model="Sold", value=20000)
    CarFactory(brand=honda, model="Dear Honda", value=50000)
    CarFactory(brand=honda, model="Close Honda", value=21000)
    reserved_car(brand=honda, model="Reserved Honda", value=20000)
    CarFactory(brand=toyota, model="Close Toyota", value=20500)
    CarFactory(brand=toyota, model="Far Toyota", value=90000)
    CarFactory(model="Near other", value=19000)

    response = client.get(f"/cars/{sold.pk}/")

    similar = [c.model for c in response.context["similar"]]
    assert similar == ["Close Honda", "Close Toyota", "Near other", "Dear Honda"]  # at its price first
    assert all(model in response.content.decode() for model in similar)


def test_similar_cars_are_the_same_model_then_the_same_kind_at_its_price(client):
    honda, toyota, bmw = (BrandFactory(name=name) for name in ("Honda", "Toyota", "BMW"))
    sold = sold_car(brand=honda, model="Civic", body="hatchback", value=20000)
    CarFactory(brand=honda, model="CR-V", body="suv", value=21000)
    CarFactory(brand=toyota, model="Corolla", body="hatchback", value=19000)
    CarFactory(brand=bmw, model="1 Series", body="hatchback", value=45000)
    CarFactory(brand=honda, model="Civic", body="sedan", value=26000)
    CarFactory(brand=toyota, model="Hilux", body="pickup", value=20000)

    response = client.get(f"/cars/{sold.pk}/")

    # Another Civic; then at its price a hatchback, then its brand; a hatchback at twice its price is last.
    assert [c.model for c in response.context["similar"]] == ["Civic", "Corolla", "CR-V", "Hilux"]


def test_an_available_car_page_offers_no_similar_cars(client):
    car = CarFactory()
    CarFactory(brand=car.brand)

    response = client.get(f"/cars/{car.pk}/")

    assert list(response.context["similar"]) == [] and "Similar cars" not in response.content.decode()


def test_a_catalogue_link_with_a_renamed_brands_old_slug_moves_for_good_to_the_new_one(client):
    from carsales.catalog.services import brand_rename

    honda = BrandFactory(name="Honda", slug="honda")
    CarFactory(brand=honda, model="Civic")
    brand_rename(brand=honda, name="Honda Motor")

    response = client.get("/", {"brand": "honda", "ordering": "price"})

    assert response.status_code == 301
    assert response["Location"] == "/?brand=honda-motor&ordering=price"
    assert [car.model for car in client.get(response["Location"]).context["page"]] == ["Civic"]


def test_an_unknown_brand_in_the_catalogue_filter_is_a_form_error_not_a_redirect(client):
    response = client.get("/", {"brand": "nobody"})

    assert response.status_code == 200 and response.context["form"].errors["brand"]


def test_a_search_of_a_thousand_words_is_refused_at_once_on_the_page_and_the_api(client):
    import time

    CarFactory(model="Civic")
    query = " ".join(["civic"] * 1000)
    started = time.monotonic()

    page = client.get("/", {"q": query})
    api = client.get("/api/cars/", {"q": query})
    words = client.get("/api/cars/", {"q": " ".join(["civic"] * 9)})

    assert time.monotonic() - started < 1
    assert page.status_code == 200 and "at most 100 characters" in page.content.decode()
    assert api.status_code == 400 and "q" in api.json()
    assert words.status_code == 400 and "at most 8 words" in words.json()["q"][0]


def test_buyers_pick_among_brands_with_a_car_on_sale_and_a_link_to_a_sold_out_brand_finds_none(staff_client):
    client = Client()
    on_sale, sold_out, empty = BrandFactory(name="Kia"), BrandFactory(name="Saab"), BrandFactory(name="Lada")
    CarFactory(brand=on_sale)
    sold_car(brand=sold_out)

    offered = [brand.name for brand in client.get("/").context["form"].fields["brand"].queryset]
    linked = client.get("/", {"brand": sold_out.slug})

    assert offered == ["Kia"]
    assert not linked.context["form"].errors and linked.context["page"].paginator.count == 0
    assert [brand.name for brand in linked.context["form"].fields["brand"].queryset] == ["Kia", "Saab"]
    assert {brand.name for brand in staff_client.get("/").context["form"].fields["brand"].queryset} == {
        "Kia", "Saab", empty.name
    }  # fmt: skip


def test_buyers_choose_how_many_cars_a_page_shows(client):
    CarFactory.create_batch(13)

    page = client.get("/").content.decode()
    chosen = client.get("/", {"per_page": 48})

    assert '<select name="per_page" id="id_per_page" data-default="12"><option value="12" selected>12</option>' in page
    assert chosen.context["page"].paginator.per_page == 48 and '<option value="48" selected>' in chosen.content.decode()


def test_an_empty_catalogue_says_no_car_is_on_sale_and_an_empty_search_says_why(client):
    for query in ({}, {"ordering": "price", "per_page": 48, "q": "", "brand": ""}):  # as the htmx form sends it
        assert "No car is on sale right now; come back soon." in client.get("/", query).content.decode()
    filtered = client.get("/", {"fuel": "diesel"}).content.decode()
    assert 'No car matches these filters. Try fewer of them, or <a href="/">clear them all</a>.' in filtered
    assert '<p class="filters-found" id="filters-found">0 cars · <a href="/">Clear the filters</a>' in filtered
    assert "Clear the filters" not in client.get("/", {"ordering": "price"}).content.decode()  # orders, chooses none
    swapped = client.get("/", {"fuel": "diesel"}, headers={"HX-Request": "true"}).content.decode()
    assert '<p id="filters-found" hx-swap-oob="innerHTML">0 cars · <a href="/">Clear the filters</a>' in swapped


def test_an_unpriced_car_says_how_to_ask_for_its_price_and_every_page_how_to_reach_the_dealership(client, settings):
    settings.CARSALES_DEALER = {
        "name": "Acme", "phone": "+1 555 0199", "email": "sales@acme.example", "address": "2 Main St"
    }  # fmt: skip
    unpriced = CarFactory(value=None)

    page = client.get(f"/cars/{unpriced.pk}/").content.decode()

    assert "Ask us for its price: " in page and "Add to cart" not in page
    assert '<a href="tel:+15550199">+1 555 0199</a> · <a href="mailto:sales@acme.example">' in page
    assert "Acme dealership · 2 Main St · " in page


def test_with_no_contact_set_no_way_to_ask_is_made_up(client, settings):
    settings.CARSALES_DEALER = {"name": "Acme", "phone": "", "email": "", "address": ""}

    page = client.get(f"/cars/{CarFactory(value=None).pk}/").content.decode()

    assert "Ask us for its price" not in page and "tel:" not in page and "mailto:" not in page


def test_the_delete_page_of_a_car_on_an_order_says_so_before_asking(staff_client):
    car = reserved_car()

    page = staff_client.get(f"/cars/{car.pk}/delete/").content.decode()

    assert "cannot be deleted" in page and "keeps it on record" in page and 'type="submit">Delete' not in page
    assert 'type="submit">Delete' in staff_client.get(f"/cars/{CarFactory().pk}/delete/").content.decode()


def test_the_edit_page_names_the_car_as_stored_while_the_form_shows_what_was_refused(staff_client):
    car = CarFactory(model="Golf", factory_year=2017, model_year=2017)
    data = car_form_data(car.brand, model="Golf", plate=car.plate, factory_year=2017, model_year=2015)

    response = staff_client.post(f"/cars/{car.pk}/edit/", data)

    assert response.context["form"].errors["model_year"]
    assert f"<h1>Edit {car.brand} Golf 2017</h1>" in response.content.decode()


def test_brands_are_listed_as_buyers_read_them_whatever_their_accents(staff_client):
    for name in ("Volvo", "Škoda", "Audi", "Seat"):
        CarFactory(brand=BrandFactory(name=name))

    page = staff_client.get("/").content.decode()
    options = re.findall(r'<option value="[^"]+">(Audi|Seat|Škoda|Volvo)</option>', page)

    assert options == ["Audi", "Seat", "Škoda", "Volvo"]


def test_a_car_on_several_orders_names_them_all_in_order(staff, staff_client):
    from carsales.orders.services import order_cancel

    car = CarFactory()
    orders = []
    for _ in range(3):
        orders.append(order_for(car))
        order_cancel(order=orders[-1], actor=staff)

    page = staff_client.get(f"/cars/{car.pk}/delete/").content.decode()

    first, second, third = (order.pk for order in orders)
    assert f"is on orders #{first}, #{second} and #{third}, which keep it on record" in page
