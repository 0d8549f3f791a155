import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client, RequestFactory
from django.views.defaults import server_error


@pytest.fixture(autouse=True)
def no_debug(settings):
    # The branded pages are what a visitor sees in production, where DEBUG is off.
    settings.DEBUG = False


@pytest.mark.django_db
def test_an_unknown_address_gets_the_sites_404_page(client: Client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert b"We can't find that page" in response.content
    assert static("css/site.css").encode() in response.content
    assert b"The address may be mistyped" in response.content and b"sold" not in response.content


@pytest.mark.django_db
def test_a_car_page_gone_says_the_car_is_not_on_sale(client: Client):
    response = client.get("/cars/999999/")

    assert response.status_code == 404
    assert b"That car is not on sale at the moment" in response.content


@pytest.mark.django_db
def test_a_buyer_refused_a_page_gets_the_sites_403_page(buyer_client, user):
    response = buyer_client.get("/staff/inventory/")

    assert response.status_code == 403
    assert b"This page is for our staff" in response.content
    assert f"logged in as {user.username}".encode() in response.content


def test_the_500_page_renders_with_no_request_context_and_no_database():
    # No django_db mark: any query made while rendering would fail this test.
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b'href="/static/css/site.css"' in response.content


def test_the_500_page_renders_even_without_a_static_files_manifest(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }

    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500


@pytest.mark.django_db
def test_every_page_links_the_favicon(client: Client):
    response = client.get("/")

    assert f'<link rel="icon" href="{static("favicon.svg")}"'.encode() in response.content
    assert finders.find("favicon.svg")


def test_favicon_ico_is_sent_to_the_static_icon(client: Client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == static("favicon.svg")


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["/accounts/logout/", "/cars/{car}/photos/1/cover/", "/cars/{car}/photos/1/later/"])
def test_a_buttons_address_opened_as_a_page_is_the_sites_page_saying_so(staff_client, address):
    from carsales.conftest import CarFactory

    response = staff_client.get(address.format(car=CarFactory().pk))

    assert response.status_code == 405 and "POST" in response["Allow"] and response["X-Frame-Options"] == "DENY"
    page = response.content.decode()
    assert "This address is a button" in page and "Log out" in page  # the site's page, its menu there


@pytest.mark.django_db
def test_the_apis_answer_to_a_method_it_does_not_take_stays_its_own(staff_api):
    response = staff_api.put("/api/cart/items/", {}, format="json")

    assert response.status_code == 405 and "detail" in response.json()


@pytest.mark.django_db
def test_a_pages_answer_to_a_post_it_does_not_take_is_djangos_own(staff_client):
    response = staff_client.post("/cars/export.csv")  # a download: posting to it is no form's doing

    assert response.status_code == 405 and response.content == b""
