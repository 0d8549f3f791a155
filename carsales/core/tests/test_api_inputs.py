"""Values no database column can hold are a 400 from the API, never a query that fails."""

import pytest

from carsales.catalog.models import Car
from carsales.conftest import BrandFactory, CarFactory

pytestmark = pytest.mark.django_db

PAST_64_BITS = [2**63, 10**30]


def test_a_nul_byte_in_a_cars_brand_slug_is_a_400(staff_api):
    response = staff_api.post(
        "/api/cars/",
        {"brand": "hon\x00da", "model": "Civic", "factory_year": 2020, "model_year": 2020, "plate": "A1"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"brand": ["Null characters are not allowed."]}
    assert not Car.objects.exists()


def test_a_nul_byte_in_the_brand_filter_is_a_400_by_api_and_on_the_catalogue(client):
    BrandFactory(name="Honda")

    assert client.get("/api/cars/", {"brand": "\x00"}).status_code == 400
    assert client.get("/", {"brand": "\x00"}).status_code == 400  # core.security.NulInQueryMiddleware


@pytest.mark.parametrize("car_id", PAST_64_BITS)
def test_adding_a_car_id_past_64_bits_to_the_cart_is_a_400(buyer_api, car_id):
    response = buyer_api.post("/api/cart/items/", {"car": car_id}, format="json")

    assert response.status_code == 400 and "car" in response.json()


@pytest.mark.parametrize("body", [{"cars": [2**63]}, {"cart_id": 2**63}, {"cars": [0]}])
def test_a_checkout_naming_an_id_no_row_can_have_is_a_400(buyer_api, body):
    buyer_api.post("/api/cart/items/", {"car": CarFactory().pk}, format="json")

    response = buyer_api.post("/api/checkout/", body, format="json")

    assert response.status_code == 400 and body.keys() <= response.json().keys()
