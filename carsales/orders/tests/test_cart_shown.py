"""The pages say what the viewer's cart holds: the header its number of cars, a car's page that
the car is in it. The catalogue and car pages are cached for many viewers: each viewer sees their
own cart's state, never another's, at the cost of one query, and none for a visitor without one."""

import re
from typing import Any

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carsales.accounts.backends import CaseInsensitiveModelBackend
from carsales.catalog.models import Car
from carsales.conftest import CarFactory, UserFactory
from carsales.orders.middleware import CartMiddleware
from carsales.orders.models import Cart
from carsales.orders.services import cart_for_buyer, cart_item_add

pytestmark = pytest.mark.django_db


def cart_link(page: str) -> str:
    """The header's link to the cart, as written; a cart holding cars is also shown beside the
    Menu button of a narrow screen, with the same count."""
    (link,) = re.findall(r'<a href="/cart/"[^>]*>Cart[^<]*</a>', page)
    beside_menu = re.findall(r'<a class="cart-peek" href="/cart/" aria-label="([^"]*)">(Cart[^<]*)</a>', page)
    assert beside_menu == ([] if link == NO_COUNT else re.findall(r'aria-label="([^"]*)">(Cart[^<]*)</a>', link))
    return link


def says_in_cart(page: str) -> bool:
    """Whether a car's page says the car is in the viewer's cart; it then offers no "Add to cart"."""
    in_cart = 'In your cart · <a href="/cart/">View cart</a>' in page
    assert in_cart != ("Add to cart" in page), "either in the cart or offered, never both nor neither"
    return in_cart


def get(client: Client, address: str) -> str:
    response = client.get(address)
    assert response.status_code == 200
    return response.content.decode()


def visitor_with(*cars: Car) -> Client:
    visitor = Client()
    for car in cars:
        assert visitor.post(f"/cart/add/{car.pk}/").status_code == 302
    get(visitor, "/")  # the message the last add left
    return visitor


def buyer_with(*cars: Car, name: str = "ana") -> Client:
    user = UserFactory(username=name)
    for car in cars:
        cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car)
    buyer = Client()
    buyer.force_login(user)
    return buyer


NO_COUNT = '<a href="/cart/">Cart</a>'
ONE_CAR = '<a href="/cart/" class="cart-held" aria-label="Cart, 1 car">Cart (1)</a>'
TWO_CARS = '<a href="/cart/" class="cart-held" aria-label="Cart, 2 cars">Cart (2)</a>'


def test_a_visitors_car_page_says_the_car_is_in_their_cart():
    golf, polo = CarFactory(), CarFactory()

    visitor = visitor_with(golf)

    assert says_in_cart(get(visitor, golf.get_absolute_url()))
    assert not says_in_cart(get(visitor, polo.get_absolute_url()))


def test_a_signed_in_buyers_car_page_says_the_car_is_in_their_cart():
    golf, polo = CarFactory(), CarFactory()

    buyer = buyer_with(golf)

    assert says_in_cart(get(buyer, golf.get_absolute_url()))
    assert not says_in_cart(get(buyer, polo.get_absolute_url()))


def test_staff_see_their_own_cart_on_the_page_rendered_for_them(staff_client):
    golf = CarFactory()
    staff_client.post(f"/cart/add/{golf.pk}/")

    page = get(staff_client, golf.get_absolute_url())

    assert says_in_cart(page) and "Withdraw from sale" in page and cart_link(page) == ONE_CAR


def test_a_car_in_the_cart_that_went_off_sale_is_still_said_to_be_in_it():
    """The cart lists it, saying why it cannot be ordered, until the buyer takes it out."""
    golf = CarFactory()
    visitor = visitor_with(golf)
    Car.objects.filter(pk=golf.pk).update(value=None)  # priced on request meanwhile

    assert says_in_cart(get(visitor, golf.get_absolute_url()))


@pytest.mark.parametrize("who", ["visitor", "buyer"])
def test_the_header_counts_the_cars_in_the_cart_on_the_request_right_after_each_add_and_remove(who):
    golf, polo = CarFactory(), CarFactory()
    viewer = visitor_with() if who == "visitor" else buyer_with()
    pages = ["/", golf.get_absolute_url(), polo.get_absolute_url(), "/cart/"]

    def shown() -> set[str]:
        get(viewer, "/")  # the message the add or remove left, shown once
        return {cart_link(get(viewer, page)) for page in pages}

    assert shown() == {NO_COUNT}
    viewer.post(f"/cart/add/{golf.pk}/")
    assert shown() == {ONE_CAR}
    viewer.post(f"/cart/add/{polo.pk}/")
    assert shown() == {TWO_CARS}
    assert says_in_cart(get(viewer, golf.get_absolute_url()))
    viewer.post(f"/cart/remove/{golf.pk}/")
    assert shown() == {ONE_CAR}
    assert not says_in_cart(get(viewer, golf.get_absolute_url()))
    viewer.post(f"/cart/remove/{polo.pk}/")
    assert shown() == {NO_COUNT}


def test_the_count_follows_a_visitors_cart_into_their_account_and_goes_with_the_checkout(client):
    golf = CarFactory()
    UserFactory(username="ana")
    client.post(f"/cart/add/{golf.pk}/")
    client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"})

    assert cart_link(get(client, "/")) == ONE_CAR
    client.post("/checkout/", {"cars": [golf.pk], f"price-{golf.pk}": str(golf.value)})

    page = get(client, golf.get_absolute_url())
    assert cart_link(page) == NO_COUNT and "Reserved for you" in page and "In your cart" not in page


def test_no_viewer_sees_another_viewers_cart_whichever_copy_was_kept_first():
    """Each kind of viewer is served from the copies the others left: the visitor bringing no
    cookie (a replayed response), a visitor and a buyer each with a cart holding the car, or one
    other car, or both, or nothing. Each sees their own count and whether the car is in it."""
    golf, polo = CarFactory(), CarFactory()
    viewers: dict[str, tuple[Client, str, bool]] = {
        "visitor, golf": (visitor_with(golf), ONE_CAR, True),
        "visitor, polo": (visitor_with(polo), ONE_CAR, False),
        "visitor, both": (visitor_with(golf, polo), TWO_CARS, True),
        "visitor, none": (visitor_with(), NO_COUNT, False),
        "no cookie": (Client(), NO_COUNT, False),
        "buyer, golf": (buyer_with(golf, name="golf"), ONE_CAR, True),
        "buyer, polo": (buyer_with(polo, name="polo"), ONE_CAR, False),
        "buyer, both": (buyer_with(golf, polo, name="both"), TWO_CARS, True),
        "buyer, none": (buyer_with(name="none"), NO_COUNT, False),
    }
    for _ in range(2):  # the second time round, every page is a copy some viewer left
        for name, (viewer, link, in_cart) in viewers.items():
            for address in ("/", golf.get_absolute_url()):
                if name == "no cookie":
                    viewer.cookies.clear()  # the CSRF cookie the car page's form set
                page = get(viewer, address)
                assert cart_link(page) == link, (name, address)
            assert says_in_cart(page) == in_cart, name


def queries_reading(run: Any) -> tuple[int, int]:
    """How many queries `run()` made, and how many of them read a cart."""
    with CaptureQueriesContext(connection) as done:
        run()
    assert all(query["sql"].startswith("SELECT") for query in done.captured_queries), "a GET writes nothing"
    return len(done), sum("orders_cart" in query["sql"] for query in done.captured_queries)


# Each page once cached, as most requests find it. The queries: a visitor's session, their cart,
# the catalogue's version; a buyer's session, then their user with their cart and the version
# (read_with_each_request_user).
@pytest.mark.parametrize(
    ("who", "address", "queries"),
    [
        ("visitor", "/", 3),
        ("visitor", "car", 3),
        ("buyer", "/", 2),
        ("buyer", "car", 2),
    ],
)
def test_a_cached_page_reads_the_cart_in_one_query_whatever_it_holds(who, address, queries):
    cars = CarFactory.create_batch(3)
    viewer = visitor_with(cars[0]) if who == "visitor" else buyer_with(cars[0])
    address = cars[0].get_absolute_url() if address == "car" else address
    get(viewer, address)

    assert queries_reading(lambda: get(viewer, address)) == (queries, 1)
    for car in cars[1:]:
        viewer.post(f"/cart/add/{car.pk}/")
    get(viewer, "/")  # the add's message
    get(viewer, address)
    assert queries_reading(lambda: get(viewer, address)) == (queries, 1)


@pytest.mark.parametrize("address", ["/", "car"])
def test_a_visitor_without_a_cart_pays_no_query_for_it(address):
    car = CarFactory()
    address = car.get_absolute_url() if address == "car" else address
    no_cookie, with_session = Client(), Client()
    assert with_session.session.session_key  # made and saved: a session holding no cart
    get(no_cookie, address)
    no_cookie.cookies.clear()  # the CSRF cookie the car page's form set: replayed

    assert queries_reading(lambda: get(no_cookie, address)) == (1, 0)  # the catalogue's version
    assert queries_reading(lambda: get(with_session, address)) == (2, 0)  # the session, the version
    assert not Cart.objects.exists()


def test_a_get_counts_the_cart_read_with_the_user_and_any_other_method_reads_it_as_the_request_left_it(rf):
    """A signed-in user's cart is read in the statement that reads the user (one round trip
    fewer on every page): a GET changes no cart, so that is what it holds. A POST may change it
    before its page shows the count (a checkout refused), so it reads the cart when it shows it."""
    golf = CarFactory()
    user = UserFactory()
    read = CaseInsensitiveModelBackend().get_user(user.pk)  # as each request reads its user
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=golf)  # after: the read found none

    def cart_seen(method: str) -> frozenset[int]:
        request = getattr(rf, method)("/")
        request.user = read
        CartMiddleware(lambda request: HttpResponse())(request)
        return frozenset(request.cart_car_ids)

    assert cart_seen("get") == frozenset()
    assert cart_seen("post") == cart_seen("put") == {golf.pk}
    assert CaseInsensitiveModelBackend().get_user(user.pk).cart_car_ids_read == str(golf.pk)
