from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from carsales.catalog.services import car_update, cars_withdraw
from carsales.conftest import CarFactory, UserFactory, order_for, reserved_car
from carsales.core.testing import csrf_token_in
from carsales.orders.models import CartItem, Order
from carsales.orders.services import cart_for_buyer, cart_item_add, order_mark_paid, order_place, order_record_refund

pytestmark = pytest.mark.django_db


def test_a_visitors_cart_is_merged_into_the_buyers_cart_at_login(client):
    user = UserFactory(username="ana")
    kept, visiting = CarFactory(), CarFactory()
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=kept)

    client.post(f"/cart/add/{visiting.pk}/")
    client.post(f"/cart/add/{kept.pk}/")
    client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"})

    cars = set(CartItem.objects.filter(cart__buyer=user.buyer).values_list("car_id", flat=True))
    assert cars == {kept.pk, visiting.pk}
    assert not CartItem.objects.filter(cart__buyer__isnull=True).exists()


def test_the_visitors_cars_keep_the_order_they_were_added_in_after_login_and_the_first_added_fit(client, settings):
    settings.CARSALES_MAX_CARS_HELD = 3
    user = UserFactory(username="ana")
    kept = CarFactory()
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=kept)
    third, second, first = CarFactory(), CarFactory(), CarFactory()
    for car in (first, second, third):  # added against the order of their ids
        client.post(f"/cart/add/{car.pk}/")

    client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"})

    shown = list(CartItem.objects.filter(cart__buyer=user.buyer).values_list("car_id", flat=True))
    assert shown == [kept.pk, first.pk, second.pk]  # as added; the limit leaves out the last added


def test_at_login_the_visitor_cars_left_out_of_the_cart_are_named(client):
    user = UserFactory(username="bea")
    held = [CarFactory() for _ in range(2)]
    for car in held:
        cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car)
    fits, over, gone = CarFactory(), CarFactory(), CarFactory()
    for car in (fits, over, gone):
        client.post(f"/cart/add/{car.pk}/")
    order_for(gone)  # someone else buys it while the visitor looks around

    response = client.post("/accounts/login/", {"username": "bea", "password": "pass-word-123"}, follow=True)

    texts = [str(m) for m in response.context["messages"]]
    assert any("at most 3 cars" in text and str(over) in text and str(fits) not in text for text in texts)
    assert any("No longer for sale" in text and str(gone) in text for text in texts)
    cars = set(CartItem.objects.filter(cart__buyer=user.buyer).values_list("car_id", flat=True))
    assert cars == {*(car.pk for car in held), fits.pk}


def test_adding_a_car_twice_says_it_is_already_there(buyer_client):
    car = CarFactory()
    buyer_client.post(f"/cart/add/{car.pk}/")

    response = buyer_client.post(f"/cart/add/{car.pk}/", follow=True)

    assert f"{car} is already in your cart." in [str(m) for m in response.context["messages"]]


def test_a_car_that_is_not_available_cannot_be_added(buyer_client):
    car = reserved_car()

    response = buyer_client.post(f"/cart/add/{car.pk}/", follow=True)

    assert f"{car} is reserved by another buyer for now." in [str(m) for m in response.context["messages"]]
    assert not CartItem.objects.exists()


def test_removing_a_car_from_the_cart(buyer_client, user):
    car = CarFactory()
    buyer_client.post(f"/cart/add/{car.pk}/")

    buyer_client.post(f"/cart/remove/{car.pk}/")

    assert not CartItem.objects.exists()


def test_the_cart_says_what_placing_the_order_commits_to_before_it_is_placed(buyer_client, settings):
    settings.CARSALES_RESERVATION_HOURS = 48
    car = CarFactory(value=100)
    buyer_client.post(f"/cart/add/{car.pk}/")

    page = buyer_client.get("/cart/").content.decode()

    assert "Placing the order reserves this car for you for 2\xa0days: nothing is charged now." in page
    assert 'aria-describedby="place-order-note">Place order</button>' in page
    order_for(car)  # another buyer orders it: the note gives way to what blocks the order
    assert "Placing the order reserves" not in buyer_client.get("/cart/").content.decode()


def test_checking_out_from_the_cart_page_places_the_order_and_emails(buyer_client, user, run_tasks):
    car = CarFactory(value=100)
    buyer_client.post(f"/cart/add/{car.pk}/")

    response = buyer_client.post("/checkout/", follow=True)
    run_tasks()

    order = Order.objects.get()
    assert response.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert b"Order #" in response.content and b"$100" in response.content
    assert len(mail.outbox) == 1


def test_checking_out_an_empty_cart_shows_a_message(buyer_client):
    response = buyer_client.post("/checkout/", follow=True)

    assert "Your cart is empty." in [str(m) for m in response.context["messages"]]
    assert not Order.objects.exists()


def test_a_visitor_must_log_in_to_check_out(client):
    response = client.post("/checkout/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_visitor_whose_cart_holds_nothing_on_sale_is_not_asked_to_log_in_to_order_it(client):
    from carsales.catalog.services import cars_withdraw

    car = CarFactory()
    client.post(f"/cart/add/{car.pk}/")
    cars_withdraw(car_ids=[car.pk])

    page = client.get("/cart/").content.decode()

    assert "Log in to place your order" not in page and "Browse the cars on sale" in page


def place_for(user, *values):
    cart = cart_for_buyer(buyer=user.buyer)
    for value in values:
        cart_item_add(cart=cart, car=CarFactory(value=value))
    return order_place(cart=cart, buyer=user.buyer, actor=user)


def test_a_buyer_sees_only_their_own_orders(buyer_client, user):
    mine = place_for(user, 100)
    theirs = place_for(UserFactory(), 200)

    listed = list(buyer_client.get("/orders/").context["page"])

    assert listed == [mine]
    assert buyer_client.get(f"/orders/{theirs.pk}/").status_code == 404


def test_the_order_list_costs_the_same_queries_however_many_orders_and_cars(buyer_client, user, settings):
    settings.CARSALES_MAX_CARS_HELD = 100  # measures queries, not the hold limit

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            buyer_client.get("/orders/")
        return len(captured)

    place_for(user, 1)
    few = queries()
    for _ in range(4):
        place_for(user, 1, 2, 3)

    assert queries() == few


def test_staff_see_the_buyers_name_email_and_phone_on_the_order(staff, user):
    user.first_name, user.last_name = "Ana", "Lima"
    user.save()
    user.buyer.phone = "+55 11 5555-0101"
    user.buyer.save()
    order = place_for(user, 100)
    client = Client()
    client.force_login(staff)

    page = client.get(f"/orders/{order.pk}/").content.decode()

    assert "Ana Lima" in page and user.email in page and "+55 11 5555-0101" in page


def test_the_buyers_contact_on_the_order_page_costs_no_query(staff, user, buyer_client):
    order = place_for(user, 100, 200)
    staff_client = Client()
    staff_client.force_login(staff)

    def queries(client) -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(f"/orders/{order.pk}/")
        return len(captured)

    assert queries(staff_client) == queries(buyer_client)


def test_staff_mark_an_order_paid_from_its_page(staff, user):
    order = place_for(user, 100)
    client = Client()
    client.force_login(staff)

    response = client.post(
        f"/orders/{order.pk}/pay/", {"method": "transfer", "reference": " TR  2026-118 "}, follow=True
    )

    paid = Order.objects.get(pk=order.pk)
    assert (paid.status, paid.payment_method, paid.payment_reference) == ("paid", "transfer", "TR 2026-118")
    assert f"Order #{order.pk} is paid." in [str(m) for m in response.context["messages"]]
    assert (
        "paid " in response.content.decode() and "by bank transfer (reference TR 2026-118)" in response.content.decode()
    )


def test_marking_an_order_paid_without_saying_how_asks_again_and_pays_nothing(staff, user):
    order = place_for(user, 100)
    client = Client()
    client.force_login(staff)

    response = client.post(f"/orders/{order.pk}/pay/", {"method": "", "reference": "x" * 101})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "method": ["Choose how the buyer paid."],
        "reference": ["Ensure this value has at most 100 characters (it has 101)."],
    }
    assert Order.objects.get(pk=order.pk).status == "placed"


def test_marking_an_order_paid_asks_first_naming_buyer_total_and_cars(staff, user):
    order = place_for(user, 100)
    client = Client()
    client.force_login(staff)

    asked = client.get(f"/orders/{order.pk}/pay/")

    assert Order.objects.get(pk=order.pk).status == "placed"  # a GET changes nothing
    page = asked.content.decode()
    assert f"Mark order #{order.pk} paid?" in page and str(user.buyer) in page
    assert all(str(item.car) in page for item in order.items.all())
    assert f'href="/orders/{order.pk}/pay/"' in client.get(f"/orders/{order.pk}/").content.decode()


def test_the_question_of_an_order_paid_meanwhile_leads_to_its_page(staff, user):
    from carsales.orders.services import order_mark_paid

    order = order_mark_paid(order=place_for(user, 100), actor=staff)
    client = Client()
    client.force_login(staff)

    response = client.get(f"/orders/{order.pk}/pay/", follow=True)

    assert response.redirect_chain == [(order.get_absolute_url(), 302)]
    assert f"Order #{order.pk} cannot be paid: it is paid already." in [str(m) for m in response.context["messages"]]


def test_a_buyer_cannot_mark_an_order_paid(buyer_client, user):
    order = place_for(user, 100)

    buyer_client.post(f"/orders/{order.pk}/pay/")

    assert Order.objects.get(pk=order.pk).status == "placed"


def test_staff_see_the_sales_page_with_the_daily_chart(staff, user):
    from carsales.orders.services import order_mark_paid

    order_mark_paid(order=place_for(user, 100), actor=staff)
    client = Client()
    client.force_login(staff)

    response = client.get("/staff/sales/")

    assert response.status_code == 200
    assert b"<svg" in response.content and b"$100" in response.content


def test_a_visitor_looking_at_the_empty_cart_creates_no_cart(client):
    from carsales.orders.models import Cart

    response = client.get("/cart/")

    assert response.status_code == 200 and b"Your cart is empty." in response.content
    assert not Cart.objects.exists()


def test_staff_mark_orders_paid_with_the_admin_action(staff, user):
    from carsales.sales.models import Sale

    order = place_for(user, 100)
    client = Client()
    client.force_login(staff)

    chosen = {"action": "mark_paid", "_selected_action": [order.pk]}
    asked = client.post("/admin/orders/order/", chosen)
    assert "Their cars are sold to their buyers" in asked.content.decode()
    assert Order.objects.get(pk=order.pk).status == "placed"  # asked, not done
    response = client.post("/admin/orders/order/", {**chosen, "post": "yes", "method": "cash"}, follow=True)

    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).status == "paid" and Sale.objects.filter(order=order).exists()


def test_voiding_a_sale_in_the_admin_deactivates_its_order(staff, user):
    from carsales.orders.services import order_mark_paid
    from carsales.sales.models import Sale

    order = order_mark_paid(order=place_for(user, 100), actor=staff)
    sale = Sale.objects.get(order=order)
    client = Client()
    client.force_login(staff)

    voided = {"action": "void", "_selected_action": [sale.pk], "post": "yes", "reason": "error"}
    client.post("/admin/sales/sale/", voided)

    assert not Sale.objects.exists() and Order.objects.get(pk=order.pk).is_active is False


def test_the_buyer_of_a_sold_car_sees_their_order_on_its_page(client, staff):
    user = UserFactory()
    car = CarFactory(model="Mine")
    order = order_mark_paid(order=order_for(car, user=user), actor=staff)
    client.force_login(user)

    page = client.get(f"/cars/{car.pk}/").content.decode()

    assert f'href="/orders/{order.pk}/"' in page and "This car is yours" in page
    client.force_login(UserFactory())
    assert "This car has been sold." in client.get(f"/cars/{car.pk}/").content.decode()


def test_a_reserved_car_repriced_says_the_orders_price_to_its_buyer_and_to_staff(client, staff):
    user = UserFactory(first_name="Ana", last_name="Lima")
    car = CarFactory(model="Held", value=Decimal("25500"))
    order = order_for(car, user=user)
    client.force_login(user)
    before = client.get(f"/cars/{car.pk}/").content.decode()

    car_update(car=car, value=Decimal("20000"))  # staff reprice it while it is reserved
    buyers = client.get(f"/cars/{car.pk}/").content.decode()
    client.force_login(staff)
    staffs = client.get(f"/cars/{car.pk}/").content.decode()

    assert "Reserved for you until your order is paid:" in before  # the price shown is the order's
    assert "Reserved for you at $25,500, the price you ordered it at, until your order is paid:" in buyers
    assert f"Held by order #{order.pk} (placed) for Ana Lima at $25,500:" in staffs
    assert Order.objects.get(pk=order.pk).total_price == Decimal("25500")


def test_a_reserved_cars_page_tells_others_it_may_come_back_and_its_buyer_where_their_order_is(client, settings):
    user = UserFactory()
    car = CarFactory(model="Held")
    other = CarFactory(model="Instead")
    order = order_for(car, user=user)
    due = date_format(timezone.localtime(order.expires_at), "DATETIME_FORMAT")
    said = f"if their order is not paid by {due}, it comes back on sale"  # the order's deadline, not "within 48 hours"

    anonymous = client.get(car.get_absolute_url()).content.decode()
    client.force_login(user)
    buyers = client.get(car.get_absolute_url()).content.decode()

    assert said in anonymous and '<a href="#similar">See cars like it</a>' in anonymous
    assert 'id="similar"' in anonymous and other.get_absolute_url() in anonymous  # offered on its page
    assert said not in buyers and f'href="/orders/{order.pk}/"' in buyers
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    seen_by_staff = staff.get(car.get_absolute_url()).content.decode()
    assert f"Held by order #{order.pk} (placed) for {order.buyer}" in seen_by_staff and said not in seen_by_staff
    # Past its deadline, before the expiry runs: no time gone by is named.
    with time_machine.travel(order.expires_at + timedelta(minutes=1)):
        lapsing = Client().get(car.get_absolute_url()).content.decode()
    assert "if their order is not paid in time, it comes back on sale" in lapsing


def test_the_cart_admin_cannot_move_a_cart_to_another_buyer(staff_client):
    owner, other = UserFactory(), UserFactory()
    cart = cart_for_buyer(buyer=owner.buyer)
    cart_item_add(cart=cart, car=CarFactory())

    staff_client.post(f"/admin/orders/cart/{cart.pk}/change/", {"buyer": other.buyer.pk, "_save": "Save"})

    cart.refresh_from_db()
    assert cart.buyer_id == owner.buyer.pk
    assert staff_client.get("/admin/orders/cart/add/").status_code == 403


def test_staff_find_orders_by_state_buyer_or_car_a_page_at_a_time(
    staff_client, django_assert_max_num_queries, settings
):
    settings.CARSALES_MAX_CARS_HELD = 100
    from carsales.catalog.models import Brand

    ana = UserFactory(username="ana", email="ana@example.com", first_name="Ana Clara", last_name="Lima")
    civic = CarFactory(model="Civic", brand=Brand.objects.create(name="Honda", slug="honda"))
    order_for(civic, user=ana)
    paid = order_mark_paid(order=order_for(CarFactory(model="Golf")), actor=UserFactory())
    for _ in range(30):
        order_for(CarFactory(model="Polo"))

    by_buyer = staff_client.get("/orders/", {"q": "ana@example"})
    by_name = staff_client.get("/orders/", {"q": "clara lima"})
    by_car = staff_client.get("/orders/", {"q": "honda civic"})
    by_plate = staff_client.get("/orders/", {"q": civic.plate})
    by_state = staff_client.get("/orders/", {"status": "paid"})
    with django_assert_max_num_queries(12):
        first = staff_client.get("/orders/")

    assert [o.buyer.user.username for o in by_buyer.context["page"]] == ["ana"]
    assert [o.buyer.user.username for o in by_name.context["page"]] == ["ana"]
    assert '<td data-label="Buyer">Ana Clara Lima</td>' in by_name.content.decode()
    assert [o.buyer.user.username for o in by_car.context["page"]] == ["ana"]
    assert len(by_plate.context["page"]) == 1
    assert [o.pk for o in by_state.context["page"]] == [paid.pk]
    assert len(first.context["page"]) == 25 and first.context["page"].paginator.count == 32
    assert "Page 1 of 2" in first.content.decode()


def test_a_buyers_own_orders_come_a_page_at_a_time_and_only_theirs(buyer_client, user, settings):
    settings.CARSALES_MAX_CARS_HELD = 100  # many orders, not the hold limit
    for _ in range(27):
        order_for(CarFactory(), user=user)
    order_for(CarFactory())

    second = buyer_client.get("/orders/", {"page": 2, "q": "ignored for buyers"})

    assert len(second.context["page"]) == 2 and second.context["page"].paginator.count == 27


def test_cancelling_an_order_is_asked_first_and_done_only_once_confirmed(buyer_client, user):
    car = CarFactory()
    order = order_for(car, user=user)
    detail = buyer_client.get(f"/orders/{order.pk}/").content.decode()
    assert f'href="/orders/{order.pk}/cancel/"' in detail  # a link to the question, no form that cancels

    asked = buyer_client.get(f"/orders/{order.pk}/cancel/")
    order.refresh_from_db()

    assert asked.status_code == 200 and order.status == "placed"
    page = asked.content.decode()
    assert f"Cancel order #{order.pk}?" in page and str(car) in page and "Your reservation ends" in page

    assert buyer_client.post(f"/orders/{order.pk}/cancel/").status_code == 302
    order.refresh_from_db()
    assert order.status == "cancelled"
    again = buyer_client.get(f"/orders/{order.pk}/cancel/")
    assert again.status_code == 302 and again["Location"] == f"/orders/{order.pk}/"  # nothing left to cancel


def test_an_order_page_says_how_to_reach_the_dealership_when_it_is_set(buyer_client, user, settings):
    order = order_for(CarFactory(), user=user)
    settings.CARSALES_DEALER = {"name": "Acme", "phone": "+1 555 0199", "email": "", "address": ""}

    page = buyer_client.get(f"/orders/{order.pk}/").content.decode()

    assert "We will contact you to arrange payment and delivery; to reach us sooner:" in page
    assert '<a href="tel:+15550199">+1 555 0199</a>' in page and "mailto:" not in page


def test_an_order_page_speaks_to_its_buyer_and_tells_staff_how_to_reach_them(staff_client):
    from django.test import Client

    from carsales.conftest import CarFactory, order_for

    order = order_for(CarFactory())
    buyer = Client()
    buyer.force_login(order.buyer.user)

    to_buyer = buyer.get(order.get_absolute_url()).content.decode()
    to_staff = staff_client.get(order.get_absolute_url()).content.decode()

    assert "Your car is reserved until" in to_buyer and "We will contact you" in to_buyer  # one car: singular
    assert "car goes back on sale" in to_buyer and "cars" not in to_buyer.split("Unpaid by then")[1].split("</p>")[0]
    assert "Your car" not in to_staff and f"reserved for {order.buyer} until" in to_staff
    two = order_for(CarFactory(), CarFactory(), user=order.buyer.user)
    assert "Your cars are reserved until" in buyer.get(two.get_absolute_url()).content.decode()
    assert f'href="mailto:{order.buyer.user.email}"' in to_staff


def test_a_cart_holding_a_car_no_longer_for_sale_says_so_once_and_offers_no_checkout(buyer_client, user):
    from carsales.catalog.services import cars_withdraw
    from carsales.conftest import CarFactory
    from carsales.orders.services import cart_for_buyer, cart_item_add

    car = CarFactory()
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car)
    cars_withdraw(car_ids=[car.pk])

    page = buyer_client.get("/cart/").content.decode()

    assert page.count("None of the cars in your cart can be ordered at the moment.") == 1
    assert 'disabled aria-describedby="cart-blocked"' in page
    assert car.get_absolute_url() not in page  # its page is staff's now: no link to a 404


def test_one_button_removes_every_car_no_longer_for_sale_and_keeps_the_others(buyer_client, user):
    from carsales.catalog.services import cars_withdraw
    from carsales.orders.services import cart_for_buyer, cart_item_add

    kept, withdrawn, taken = CarFactory(), CarFactory(), CarFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    for car in (kept, withdrawn, taken):
        cart_item_add(cart=cart, car=car)
    cars_withdraw(car_ids=[withdrawn.pk])
    order_for(taken)  # another buyer's checkout won the race
    assert "Take out the cars you cannot order now" in buyer_client.get("/cart/").content.decode()

    response = buyer_client.post("/cart/remove-unavailable/", follow=True)

    assert [item.car for item in response.context["items"]] == [kept]
    assert "Took out 2 cars you could not order now. Order the one left now." in response.content.decode()
    assert "cart-blocked" not in response.content.decode()


def _cart_row(page: str, car) -> str:
    """The cart table's row of `car` (found by its stock code: a withdrawn car's name is no link), as served."""
    start = page.index(car.stock_code)
    return page[start : page.index("</tr>", start)]


def _take_off_sale(car, how: str) -> None:
    if how == "reserved":
        order_for(car)
    elif how == "sold":
        order_mark_paid(order=order_for(car), actor=UserFactory(is_staff=True))
    elif how == "withdrawn":
        cars_withdraw(car_ids=[car.pk])
    else:
        car_update(car=car, value=None)


@pytest.mark.parametrize(
    ("how", "badge", "says"),
    [
        ("reserved", "Reserved", "If that order is cancelled or not paid in time, the car comes back on sale"),
        ("sold", "Sold", "Another buyer has bought this car."),
        ("withdrawn", "Off sale", "We have taken this car off sale for now."),
        ("unpriced", "Price on request", "This car has no price at the moment: ask us for one"),
    ],
)
def test_a_car_in_the_cart_off_sale_says_why_and_the_cars_still_for_sale_are_named(
    buyer_client, user, how, badge, says
):
    kept, other = CarFactory(model="Kept"), CarFactory(model="Other")
    cart = cart_for_buyer(buyer=user.buyer)
    for car in (kept, other):
        cart_item_add(cart=cart, car=car)
    _take_off_sale(other, how)

    page = buyer_client.get("/cart/").content.decode()

    assert f">{badge}</span>" in _cart_row(page, other) and says in _cart_row(page, other)
    assert "badge" not in _cart_row(page, kept)
    assert f"You can order {kept} now: take the other car out of your cart to place your order." in page
    assert "Take out the car you cannot order now" in page
    assert "no longer available" not in page.lower() and "message error" not in page


def test_a_cart_of_cars_all_for_sale_says_nothing_about_availability(buyer_client, user):
    cart = cart_for_buyer(buyer=user.buyer)
    for car in (CarFactory(), CarFactory()):
        cart_item_add(cart=cart, car=car)

    page = buyer_client.get("/cart/").content.decode()

    assert "cart-note" not in page and "cart-blocked" not in page and "<th>Total</th>" in page


def test_removing_from_a_cart_that_does_not_exist_makes_none(client):
    from carsales.orders.models import Cart

    for address in ("/cart/remove-unavailable/", "/cart/remove/1/"):
        assert client.post(address)["Location"] == "/cart/"

    assert not Cart.objects.exists()


def test_a_voided_order_reads_as_its_sale_cancelled_to_its_buyer_and_voided_to_staff(buyer_client, user, staff):
    from django.contrib.auth.models import AnonymousUser

    from carsales.sales.models import Sale
    from carsales.sales.services import sale_void

    order = order_for(CarFactory(), user=user)
    order_mark_paid(order=order, actor=AnonymousUser())
    sale_void(sale=Sale.objects.get(order=order), actor=AnonymousUser())

    row = buyer_client.get("/orders/").content.decode()
    page = buyer_client.get(order.get_absolute_url()).content.decode()
    staff_view = Client()
    staff_view.force_login(staff)

    assert ">Sale cancelled</span>" in row and ">Paid</span>" not in row  # the words of the buyer's email
    assert ">Sale cancelled</span>" in page
    assert ">Voided, refund owed</span>" in staff_view.get("/orders/").content.decode()
    assert ">Voided, refund owed</span>" in staff_view.get(order.get_absolute_url()).content.decode()  # as listed
    order_record_refund(order=order, actor=staff, reference="RF 1")
    assert ">Voided, refunded</span>" in staff_view.get(order.get_absolute_url()).content.decode()
    refunded = (
        buyer_client.get("/orders/").content.decode(),
        buyer_client.get(order.get_absolute_url()).content.decode(),
    )
    assert all(">Sale cancelled, refunded</span>" in shown for shown in refunded)


def test_a_form_posted_from_a_page_opened_before_a_log_in_elsewhere_gets_the_sites_page_back_to_it(user):
    car = CarFactory()
    tab = Client(enforce_csrf_checks=True)
    page = tab.get(car.get_absolute_url())
    token = csrf_token_in(page)
    # In another tab: a log-in, which gives the browser a new CSRF cookie.
    login_token = csrf_token_in(tab.get("/accounts/login/"))
    logged_in = tab.post(
        "/accounts/login/", {"username": user.username, "password": "pass-word-123", "csrfmiddlewaretoken": login_token}
    )
    assert logged_in.status_code == 302
    refused = tab.post(
        f"/cart/add/{car.pk}/",
        {"csrfmiddlewaretoken": token},
        headers={"Referer": f"http://testserver{car.get_absolute_url()}"},
    )
    assert refused.status_code == 403
    body = refused.content.decode()
    assert "This page was out of date" in body and f'href="http://testserver{car.get_absolute_url()}"' in body
    assert "You logged in or out since it was opened" in body and "cookies" not in body
    assert not CartItem.objects.exists()
    elsewhere = tab.post(
        f"/cart/add/{car.pk}/", {"csrfmiddlewaretoken": token}, headers={"Referer": "https://evil.example/"}
    )
    assert "evil.example" not in elsewhere.content.decode()


@pytest.mark.parametrize(
    ("address", "to"),
    [("/cart/add/{car}/", "/cars/{car}/"), ("/cart/remove/{car}/", "/cart/"), ("/checkout/", "/cart/")],
    ids=["add to cart", "remove from cart", "checkout"],
)
def test_a_get_of_a_forms_address_goes_where_the_form_is_and_writes_nothing(address, to, buyer_client, user):
    car = CarFactory()
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car)
    response = buyer_client.get(address.format(car=car.pk))
    assert response.status_code == 302 and response["Location"] == to.format(car=car.pk)
    assert CartItem.objects.count() == 1 and not Order.objects.exists()
    assert buyer_client.put(address.format(car=car.pk)).status_code == 405


def test_logging_in_from_place_order_returns_to_the_cart_that_kept_the_cars(client, user):
    car = CarFactory()
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car)
    asked = client.post("/checkout/")  # the session ended meanwhile
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/login/?next=/checkout/")
    assert "Log in to place your order: the cars stay in your cart." in client.get(asked["Location"]).content.decode()
    client.force_login(user)
    back = client.get("/checkout/", follow=True)
    assert back.redirect_chain[-1][0] == "/cart/" and str(car) in back.content.decode()


def test_an_order_page_links_its_cars_and_says_when_it_was_paid(buyer_client, user, staff):
    car = CarFactory()
    order = order_mark_paid(order=order_for(car, user=user), actor=staff)

    page = buyer_client.get(f"/orders/{order.pk}/").content.decode()

    paid = timezone.localtime(order.paid_at)
    assert f'href="{car.get_absolute_url()}"' in page
    assert f"paid {paid.day} {paid:%b %Y, %H:%M} UTC" in page  # the site's one way to write a time


def test_removing_a_car_from_the_cart_names_it_and_a_buyer_reads_their_own_cancellation_as_theirs(client):
    from carsales.conftest import CarFactory, UserFactory, order_for
    from carsales.orders.services import order_cancel

    car = CarFactory(model="Leaving")
    client.post(f"/cart/add/{car.pk}/")
    removed = client.post(f"/cart/remove/{car.pk}/", follow=True)
    assert f"{car} is no longer in your cart." in [str(message) for message in removed.context["messages"]]

    owner = UserFactory()
    order = order_cancel(order=order_for(CarFactory(), user=owner), actor=owner, reason="buyer")
    client.force_login(owner)
    assert "Cancelled by you on" in client.get(order.get_absolute_url()).content.decode()


@pytest.mark.parametrize("action", ["pay", "refund"])
def test_a_staff_transition_reads_the_order_once_for_the_page_and_once_locked_for_the_change(action):
    from django.contrib.auth.models import AnonymousUser

    from carsales.sales.services import sale_void

    order = order_for(CarFactory())
    if action == "refund":
        order = order_mark_paid(order=order, actor=AnonymousUser())
        sale_void(sale=order.sale, actor=AnonymousUser(), reason="returned", note="")
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with CaptureQueriesContext(connection) as ran:
        done = client.post(f"/orders/{order.pk}/{action}/", {"method": "cash", "reference": "R 1"})

    assert done.status_code == 302
    reads = [query["sql"] for query in ran.captured_queries if query["sql"].startswith('SELECT "orders_order"."id"')]
    assert len(reads) == 2, reads  # the view's, and the transition's under its lock


def test_a_visitor_past_the_hold_limit_is_told_of_their_cart_only(client, settings):
    settings.CARSALES_MAX_CARS_HELD = 2
    first, second, third = CarFactory(), CarFactory(), CarFactory()
    for car in (first, second):
        client.post(f"/cart/add/{car.pk}/")

    refused = client.post(f"/cart/add/{third.pk}/", follow=True).content.decode()

    assert "You can hold at most 2 cars at once in your cart: remove one to make room." in refused
    assert "unpaid order" not in refused  # a visitor has none


def test_cancelling_a_one_car_order_says_the_car_may_be_taken_in_the_singular(client):
    user = UserFactory()
    order = order_for(CarFactory(), user=user)
    client.force_login(user)

    asked = client.get(f"/orders/{order.pk}/cancel/").content.decode()

    assert "this car goes back on sale, where another buyer may take it." in asked
    done = client.post(f"/orders/{order.pk}/cancel/", follow=True).content.decode()
    assert f"Order #{order.pk} is cancelled; its car is back on sale." in done
    two = order_for(CarFactory(), CarFactory(), user=user)
    done = client.post(f"/orders/{two.pk}/cancel/", follow=True).content.decode()
    assert f"Order #{two.pk} is cancelled; its cars are back on sale." in done


def test_the_cart_says_a_price_changed_since_the_car_went_in_on_the_page_and_the_api(client):
    from decimal import Decimal

    from carsales.conftest import token_client

    user = UserFactory(username="cara")
    rising, falling, steady = (CarFactory(value=Decimal(price)) for price in ("10000", "20000", "30000"))
    visitor = client
    visitor.post(f"/cart/add/{rising.pk}/")  # a visitor's cart, brought in at log-in with what it saw
    visitor.post("/accounts/login/", {"username": "cara", "password": "pass-word-123"})
    for car in (falling, steady):
        visitor.post(f"/cart/add/{car.pk}/")
    car_update(car=rising, value=Decimal("12000"))
    car_update(car=falling, value=Decimal("18000"))

    page = visitor.get("/cart/").content.decode()
    items = {item["car"]: item for item in token_client(user).get("/api/cart/").json()["items"]}

    assert "up from $10,000 when you added it" in _cart_row(page, rising)
    assert "down from $20,000 when you added it" in _cart_row(page, falling)
    assert "when you added it" not in _cart_row(page, steady)
    assert [items[car.pk]["price_changed_from"] for car in (rising, falling, steady)] == ["10000.00", "20000.00", None]
    car_update(car=rising, value=Decimal("10000"))  # back where it was: nothing to say
    assert "when you added it" not in _cart_row(visitor.get("/cart/").content.decode(), rising)


def test_a_buyer_without_orders_is_pointed_to_their_cart_or_the_cars_and_greeted_by_first_name(client):
    user = UserFactory(first_name="Jane")
    client.force_login(user)

    empty = client.get("/orders/").content.decode()
    assert 'No orders yet. <a href="/">Browse the cars on sale</a>.' in empty and "<table" not in empty
    assert "Hi, Jane</a>" in empty

    client.post(f"/cart/add/{CarFactory().pk}/")
    holding = client.get("/orders/").content.decode()
    assert 'Your cart holds 1 car: <a href="/cart/">review it and place your order</a>.' in holding


def test_a_form_posted_without_the_sites_cookies_says_they_were_cleared_or_blocked():
    """Not a log-in elsewhere: the browser sent no CSRF cookie. Opening the page again sets one."""
    car = CarFactory()
    tab = Client(enforce_csrf_checks=True)
    token = csrf_token_in(tab.get(car.get_absolute_url()))
    tab.cookies.clear()

    refused = tab.post(f"/cart/add/{car.pk}/", {"csrfmiddlewaretoken": token})

    body = refused.content.decode()
    assert refused.status_code == 403 and "without this site's cookies (they were cleared, or are blocked)" in body
    assert "logged in or out" not in body and not CartItem.objects.exists()
    again = csrf_token_in(tab.get(car.get_absolute_url()))
    assert tab.post(f"/cart/add/{car.pk}/", {"csrfmiddlewaretoken": again}).status_code == 302


def test_removing_a_car_not_in_the_cart_says_so_and_a_visitor_is_asked_whether_they_were_logged_in(user):
    """A cart page opened while signed in and a log-out in another tab since: the remove reaches the
    visitor's cart, which does not hold the car. Said, not a silent empty cart."""
    car = CarFactory()
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car)
    visitor, buyer = Client(), Client()
    buyer.force_login(user)

    logged_out = visitor.post(f"/cart/remove/{car.pk}/", follow=True).content.decode()
    removed = buyer.post(f"/cart/remove/{car.pk}/", follow=True).content.decode()
    again = buyer.post(f"/cart/remove/{car.pk}/", follow=True).content.decode()

    assert f"{car} is not in your cart: nothing changed. If you were logged in, log in again" in logged_out
    assert f"{car} is no longer in your cart." in removed
    assert f"{car} is not in your cart: nothing changed." in again and "log in again" not in again


def test_a_buyers_order_list_is_titled_as_its_menu_link_and_heading_name_it(buyer_client):
    assert "<title>My orders · carsales</title>" in buyer_client.get("/orders/").content.decode()


def test_staffs_order_list_is_titled_as_its_heading_names_it(staff_client):
    assert "<title>All orders · carsales</title>" in staff_client.get("/orders/").content.decode()
