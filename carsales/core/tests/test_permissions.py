import pytest
from django.test import Client

from carsales.conftest import CarFactory, UserFactory
from carsales.orders.services import cart_for_buyer, cart_item_add, order_place

pytestmark = pytest.mark.django_db

STAFF_PAGES = [
    ("get", "/cars/new/"),
    ("get", "/cars/{car}/edit/"),
    ("get", "/cars/{car}/delete/"),
    ("get", "/brands/"),
    ("post", "/brands/{brand}/delete/"),
    ("get", "/staff/inventory/"),
    ("get", "/staff/sales/"),
    ("get", "/staff/signals/"),
    ("post", "/orders/{order}/pay/"),
]


@pytest.fixture
def urls() -> dict[str, int]:
    car, other = CarFactory(), CarFactory()
    buyer = UserFactory().buyer
    cart_item_add(cart=cart_for_buyer(buyer=buyer), car=other)
    order = order_place(cart=cart_for_buyer(buyer=buyer), buyer=buyer, actor=buyer.user)
    return {"car": car.pk, "brand": car.brand_id, "order": order.pk}


@pytest.mark.parametrize(("method", "url"), STAFF_PAGES)
def test_a_buyer_opening_a_staff_page_gets_the_sites_403_page(buyer_client, urls, method, url):
    response = getattr(buyer_client, method)(url.format(**urls))

    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]


@pytest.mark.parametrize(("method", "url"), STAFF_PAGES)
def test_a_visitor_opening_a_staff_page_is_sent_to_the_sites_login(client: Client, urls, method, url):
    path = url.format(**urls)

    response = getattr(client, method)(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("url", ["/cars/new/", "/brands/", "/staff/inventory/", "/staff/sales/", "/staff/signals/"])
def test_staff_open_the_staff_pages(staff_client, url):
    assert staff_client.get(url).status_code == 200
