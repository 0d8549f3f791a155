from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "carsales.orders"
    label = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from carsales.accounts.backends import read_with_each_request_user

        from . import receivers  # noqa: F401  (connects the receivers)
        from .selectors import CART_READ_WITH_USER, cart_car_ids_of_outer_user

        # The header's cart count, on nearly every signed-in page: read with the user, not after.
        read_with_each_request_user(CART_READ_WITH_USER, cart_car_ids_of_outer_user)
