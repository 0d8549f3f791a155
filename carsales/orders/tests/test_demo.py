import pytest
from django.core.management import call_command

from carsales.catalog.management.commands.load_demo import MODEL_FACTS
from carsales.catalog.models import Body, Car, Fuel
from carsales.inventory.services import inventory_reconcile
from carsales.orders.models import Order
from carsales.sales.models import Sale

pytestmark = pytest.mark.django_db


def test_the_demo_data_loads_once_with_photos_users_and_orders(run_tasks):
    for _ in range(2):
        call_command("load_demo", verbosity=0)
        call_command("load_demo_orders", verbosity=0)

    run_tasks()  # the thumbnails
    assert Car.objects.count() == 30
    assert all(car.thumbnail for car in Car.objects.all())
    assert Order.objects.count() == 3 and Sale.objects.count() == 1
    assert [order.state_label for order in Order.objects.order_by("pk")] == ["Paid", "Voided, refund owed", "Placed"]
    assert not inventory_reconcile(fix=False).exists
    cars = Car.objects.all()
    assert {car.body for car in cars} == set(Body.values) and {car.fuel for car in cars} == set(Fuel.values)
    for car in cars:
        car.full_clean()  # the VINs, mileages and engine sizes are ones staff could have typed
        engine_cc, power_kw, price_new = MODEL_FACTS[car.model]
        assert (car.engine_cc, car.power_kw) == (engine_cc, power_kw) and car.value <= price_new, car
    assert cars.filter(brand__name="Honda", model="Civic", status="available").exists()  # the search box's example


def test_the_demo_orders_are_not_loaded_over_a_cart_the_demo_buyer_filled():
    from django.contrib.auth import get_user_model
    from django.core.management import CommandError

    from carsales.accounts.services import buyer_ensure
    from carsales.orders.services import cart_for_buyer, cart_item_add

    call_command("load_demo", verbosity=0)
    buyer = buyer_ensure(user=get_user_model().objects.get(username="buyer"))
    cart_item_add(cart=cart_for_buyer(buyer=buyer), car=Car.objects.order_by("-id").first())

    with pytest.raises(CommandError, match="cart holds cars"):
        call_command("load_demo_orders", verbosity=0)
    assert not Order.objects.exists()
