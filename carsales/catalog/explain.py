"""Operations on cars that `manage.py signals --explain` can run (rolled back, nothing kept)."""

import secrets
from collections.abc import Callable
from decimal import Decimal

from carsales.core.explain import scenario

from .models import Brand, Car
from .services import brand_create, car_create, car_delete, car_update


def throwaway_brand() -> Brand:
    return brand_create(name=f"Explain {secrets.token_hex(4)}")


def throwaway_car(brand: Brand | None = None) -> Car:
    """A priced car of its own brand, under random names no real car has."""
    return car_create(
        brand=brand or throwaway_brand(),
        model="Explain",
        factory_year=2020,
        model_year=2021,
        plate=secrets.token_hex(4),
        value=Decimal(1),
    )


@scenario("catalog.Car save")
def car_save() -> Callable[[], object]:
    """A new car added to the catalogue (car_create)."""
    brand = throwaway_brand()
    return lambda: throwaway_car(brand)


@scenario("catalog.Car edit")
def car_edit() -> Callable[[], object]:
    """A car's price changed (car_update)."""
    car = throwaway_car()
    return lambda: car_update(car=car, value=Decimal(2))


@scenario("catalog.Car delete")
def car_remove() -> Callable[[], object]:
    """A car never ordered, deleted (car_delete)."""
    car = throwaway_car()
    return lambda: car_delete(car=car)
