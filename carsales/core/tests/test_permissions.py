import re

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
    ("get", "/orders/{order}/pay/"),
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


# What each role may do, on the site and the API: staff powers follow Django's permissions and
# groups, never `is_staff` alone.
ROLE_MATRIX = [
    # (method, url, no-permission staff, salesperson, manager): allowed?
    ("get", "/cars/new/", False, False, True),
    ("get", "/cars/{car}/edit/", False, False, True),
    ("get", "/brands/", False, False, True),
    ("get", "/staff/inventory/", False, True, True),
    ("get", "/staff/sales/", False, True, True),
    ("get", "/staff/activity/", False, False, True),
    ("get", "/staff/signals/", False, False, True),
    ("get", "/staff/requests/", False, False, True),
    ("get", "/staff/events/", False, False, True),
    ("get", "/staff/lockouts/", False, False, True),
    ("post", "/orders/{order}/pay/", False, True, True),
    ("api-get", "/api/inventory/", False, True, True),
    ("api-get", "/api/sales/", False, True, True),
    ("api-post", "/api/brands/", False, False, True),
    ("api-post", "/api/orders/{order}/pay/", False, True, True),
]


def _staff_in(group: str | None):
    from django.contrib.auth.models import Group

    user = UserFactory(is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.mark.parametrize(("method", "url", "bare", "salesperson", "manager"), ROLE_MATRIX)
def test_each_staff_power_follows_the_roles_permissions(urls, method, url, bare, salesperson, manager):
    from carsales.conftest import token_client

    for group, allowed in ((None, bare), ("Salesperson", salesperson), ("Manager", manager)):
        user = _staff_in(group)
        path = url.format(**urls)
        if method.startswith("api-"):
            client = token_client(user)
            body = {"name": f"Brand by {user.username}"} if "brands" in path else {}
            response = client.get(path) if method == "api-get" else client.post(path, body, format="json")
        else:
            client = Client()
            client.force_login(user)
            response = getattr(client, method)(path)
        refused = response.status_code == 403
        assert refused != allowed, f"{group or 'staff without permissions'} {method} {path}: {response.status_code}"


def test_the_staff_menu_shows_only_what_the_role_may_open():
    salesperson = Client()
    salesperson.force_login(_staff_in("Salesperson"))

    menu = salesperson.get("/").content.decode()

    assert 'href="/staff/sales/"' in menu and 'href="/staff/inventory/"' in menu
    assert 'href="/cars/new/"' not in menu and 'href="/staff/signals/"' not in menu
    # No operator's page to open: the admin as a link, not a menu of one.
    assert '<a href="/admin/">Admin</a>' in menu and "<summary>Operations</summary>" not in menu
    manager = Client()
    manager.force_login(_staff_in("Manager"))
    assert "<summary>Operations</summary>" in manager.get("/").content.decode()


def _staff_with(*codenames: str):
    from django.contrib.auth.models import Permission

    user = UserFactory(is_staff=True)
    for dotted in codenames:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def test_seeing_orders_is_not_cancelling_them_on_any_path(urls):
    from carsales.conftest import token_client
    from carsales.orders.models import Order, OrderStatus

    viewer = _staff_with("orders.view_order")
    client = Client()
    client.force_login(viewer)
    order = f"/orders/{urls['order']}/"

    assert client.get(order).status_code == 200 and "Cancel order" not in client.get(order).content.decode()
    assert client.get(f"{order}cancel/").status_code == 403
    assert client.post(f"{order}cancel/").status_code == 403
    assert token_client(viewer).post(f"/api{order}cancel/").status_code == 403
    assert Order.objects.get(pk=urls["order"]).status == OrderStatus.PLACED

    salesperson = Client()
    salesperson.force_login(_staff_in("Salesperson"))  # changes orders: may cancel any
    assert "Cancel order" in salesperson.get(order).content.decode()
    assert salesperson.post(f"{order}cancel/").status_code == 302
    assert Order.objects.get(pk=urls["order"]).status == OrderStatus.CANCELLED


def test_seeing_sales_is_not_voiding_them_on_any_path():
    from carsales.conftest import sold_car, token_client
    from carsales.sales.models import Sale

    sold_car()
    sale = Sale.objects.get()
    salesperson = _staff_in("Salesperson")

    assert token_client(salesperson).post(f"/api/sales/{sale.pk}/void/", {"reason": "returned"}).status_code == 403
    admin = Client()
    admin.force_login(salesperson)
    changelist = admin.get("/admin/sales/sale/")
    assert changelist.status_code == 200 and 'value="void"' not in changelist.content.decode()
    admin.post("/admin/sales/sale/", {"action": "void", "_selected_action": [sale.pk], "post": "yes"})
    assert Sale.objects.filter(pk=sale.pk).exists()
    site = Client()
    site.force_login(salesperson)
    refused = site.get(f"/sales/{sale.pk}/void/")
    assert refused.status_code == 403 and "Your role cannot open this page" in refused.content.decode()
    assert "log in with your staff account" not in refused.content.decode()  # they are staff already
    assert site.post(f"/sales/{sale.pk}/void/").status_code == 403
    assert Sale.objects.filter(pk=sale.pk).exists()

    voided = token_client(_staff_in("Manager")).post(f"/api/sales/{sale.pk}/void/", {"reason": "returned"})
    assert voided.status_code == 204
    assert not Sale.objects.filter(pk=sale.pk).exists()


def test_seeing_a_model_in_the_admin_offers_none_of_its_actions():
    """Every admin action names the power it needs (Django offers an action without one to any
    viewer): a staff member who may only view a model gets no action on its list."""
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    offered = {}
    for model, model_admin in admin.site._registry.items():
        viewer = _staff_with(f"{model._meta.app_label}.view_{model._meta.model_name}")
        request = RequestFactory().get("/admin/")
        request.user = get_user_model().objects.get(pk=viewer.pk)  # permissions read afresh
        if actions := list(model_admin.get_actions(request)):
            offered[model._meta.label] = actions

    assert offered == {}


def test_seeing_orders_in_the_admin_changes_none_of_them(urls):
    from carsales.orders.models import Order, OrderStatus

    admin_client = Client()
    admin_client.force_login(_staff_with("orders.view_order"))
    for action in ("mark_paid", "cancel"):
        chosen = {"action": action, "_selected_action": [urls["order"]], "index": 0, "post": "yes", "method": "cash"}
        admin_client.post("/admin/orders/order/", chosen)
    assert Order.objects.get(pk=urls["order"]).status == OrderStatus.PLACED

    salesperson = Client()
    salesperson.force_login(_staff_in("Salesperson"))
    chosen = {"action": "mark_paid", "_selected_action": [urls["order"]], "index": 0, "post": "yes", "method": "cash"}
    salesperson.post("/admin/orders/order/", chosen)
    assert Order.objects.get(pk=urls["order"]).status == OrderStatus.PAID


def test_a_salesperson_sees_in_the_admin_what_the_site_shows_them_of_the_stock():
    """No withdrawn car: only stock staff (catalog.change_car) see those. Plates and VINs whole,
    searched and filtered on, as on the site (a buyer's papers name them)."""
    from carsales.catalog.services import cars_withdraw

    car = CarFactory(plate="SEE0001", vin="1HGCM82633A004352")
    withdrawn = CarFactory(plate="GONE001")
    cars_withdraw(car_ids=[withdrawn.pk])
    salesperson, manager = Client(), Client()
    salesperson.force_login(_staff_in("Salesperson"))
    manager.force_login(_staff_in("Manager"))

    listed = salesperson.get("/admin/catalog/car/").content.decode()
    assert car.stock_code in listed and withdrawn.stock_code not in listed and "SEE0001" in listed
    assert car.stock_code in salesperson.get("/admin/catalog/car/", {"q": "SEE0001"}).content.decode()
    assert withdrawn.stock_code not in salesperson.get("/admin/catalog/car/", {"q": "GONE001"}).content.decode()
    page = salesperson.get(f"/admin/catalog/car/{car.pk}/change/").content.decode()
    assert "SEE0001" in page and "1HGCM82633A004352" in page
    assert salesperson.get(f"/admin/catalog/car/{withdrawn.pk}/change/").status_code == 302  # "does not exist"
    assert car.stock_code in salesperson.get("/admin/catalog/car/", {"plate__startswith": "SEE"}).content.decode()

    assert "SEE0001" in manager.get("/admin/catalog/car/", {"q": "SEE0001"}).content.decode()
    assert "1HGCM82633A004352" in manager.get(f"/admin/catalog/car/{car.pk}/change/").content.decode()
    assert withdrawn.stock_code in manager.get("/admin/catalog/car/").content.decode()


def test_the_refusal_page_offers_staff_the_orders_their_role_reads_and_others_their_own():
    offered = {}
    for name, user in {
        "salesperson": _staff_in("Salesperson"),
        "staff": _staff_in(None),
        "buyer": UserFactory(),
    }.items():
        client = Client()
        client.force_login(user)
        refused = client.get("/staff/signals/")
        assert refused.status_code == 403
        offered[name] = re.findall(r'<a class="button ghost" href="/orders/">([^<]*)</a>', refused.content.decode())
    assert offered == {"salesperson": ["Orders"], "staff": ["My orders"], "buyer": ["My orders"]}
