"""Every URL that carries an id refuses, with a 404, one the database could not hold."""

import pytest

pytestmark = pytest.mark.django_db

TOO_LARGE = [str(2**63), "1" + "0" * 30]

ID_ROUTES = [
    ("get", "/cars/{}/"),
    ("get", "/cars/{}/edit/"),
    ("get", "/cars/{}/delete/"),
    ("post", "/brands/{}/delete/"),
    ("post", "/cart/add/{}/"),
    ("post", "/cart/remove/{}/"),
    ("get", "/orders/{}/"),
    ("post", "/orders/{}/pay/"),
    ("post", "/orders/{}/cancel/"),
    ("get", "/sales/{}/void/"),
    ("get", "/cars/1/photos/{}/delete/"),
    ("get", "/api/cars/{}/"),
    ("delete", "/api/cars/{}/"),
    ("get", "/api/brands/{}/"),
    ("delete", "/api/cart/items/{}/"),
    ("get", "/api/orders/{}/"),
    ("post", "/api/orders/{}/pay/"),
    ("post", "/api/sales/{}/void/"),
    ("get", "/api/inventory/{}/"),
]


@pytest.mark.parametrize("method, route", ID_ROUTES)
@pytest.mark.parametrize("value", [*TOO_LARGE, "abc", "0", "007"])
def test_an_id_the_database_cannot_hold_is_a_404_on_every_page_and_api_route(staff_client, method, route, value):
    response = getattr(staff_client, method)(route.format(value))

    assert response.status_code == 404


@pytest.mark.parametrize("method, route", ID_ROUTES)
def test_the_largest_id_a_database_holds_is_looked_up_without_a_server_error(staff_client, method, route):
    response = getattr(staff_client, method)(route.format(2**63 - 1))

    assert response.status_code in (302, 404)


@pytest.mark.parametrize("value", [*TOO_LARGE, "abc"])
def test_a_visitor_removing_an_impossible_car_from_the_cart_gets_a_404(client, value):
    assert client.post(f"/cart/remove/{value}/").status_code == 404


def test_a_buyer_deleting_a_cart_item_named_by_letters_gets_a_404(buyer_client):
    assert buyer_client.delete("/api/cart/items/abc/").status_code == 404


def test_an_id_typed_as_text_is_read_as_a_url_reads_it():
    from carsales.core.converters import MAX_ID, id_in

    assert [id_in(text) for text in ("42", str(MAX_ID))] == [42, MAX_ID]
    assert [id_in(text) for text in ("²", "٣", "007", "0", "-1", str(MAX_ID + 1), "4 2", "")] == [None] * 8
