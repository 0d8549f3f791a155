from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from carsales.accounts.services import buyer_ensure
from carsales.catalog.management.commands.load_demo import SEARCH_EXAMPLE
from carsales.catalog.models import Car
from carsales.orders.models import Order, PaymentMethod, VoidReason
from carsales.orders.services import cart_for_buyer, cart_item_add, order_mark_paid, order_place
from carsales.sales.models import Sale
from carsales.sales.services import sale_void


class Command(BaseCommand):
    help = (
        "Give the demo buyer a paid order, a placed one and one whose sale was voided (the car returned, "
        "its refund still to record), so the sales pages have something to show."
    )

    @transaction.atomic  # every order or none
    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        buyer_user, staff = User.objects.get(username="buyer"), User.objects.get(username="staff")
        buyer = buyer_ensure(user=buyer_user)
        if Order.objects.filter(buyer=buyer).exists():
            return
        # Never the car the search box's example names: a visitor trying it finds it on sale.
        brand, model, _body, _fuel = SEARCH_EXAMPLE
        cars = list(Car.objects.available().exclude(brand__name=brand, model=model).order_by("id")[:4])
        cart = cart_for_buyer(buyer=buyer)
        if cart.items.exists():  # checkout orders the whole cart: these cars would join the demo's
            raise CommandError("The demo buyer's cart holds cars: empty it (log in as buyer), then run this again.")
        for car in cars[:2]:
            cart_item_add(cart=cart, car=car)
        placed = order_place(cart=cart, buyer=buyer, actor=buyer_user)
        order_mark_paid(order=placed, actor=staff, method=PaymentMethod.TRANSFER, reference=f"DEMO-{placed.pk:04d}")
        cart_item_add(cart=cart, car=cars[3])
        returned = order_place(cart=cart, buyer=buyer, actor=buyer_user)
        order_mark_paid(order=returned, actor=staff, method=PaymentMethod.CARD, reference=f"DEMO-{returned.pk:04d}")
        sale_void(sale=Sale.objects.get(order=returned), actor=staff, reason=VoidReason.RETURNED)
        cart_item_add(cart=cart, car=cars[2])
        order_place(cart=cart, buyer=buyer, actor=buyer_user)
        self.stdout.write(self.style.SUCCESS("Loaded demo orders: one paid, one placed, one voided owing a refund."))
