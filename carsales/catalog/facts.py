"""A car's facts as buyers read them: one wording for the car page, the cards, the API and exports."""

from typing import Any

from django.conf import settings
from django.utils import timezone

from carsales.core.permissions import has_staff_power

from .models import Car, CarStatus
from .vin import plate_masked, vin_masked

MILEAGE_UNITS = {"km": "km", "mi": "miles"}
HP_PER_KW = 1.341


def sees_stock_details(user: Any) -> bool:
    """Stock staff: they see withdrawn cars and who set a price, and download the stock."""
    return has_staff_power(user, ["catalog.change_car"])


def sees_car_identity(user: Any) -> bool:
    """Staff who may see the cars (a salesperson too: a buyer's papers name the plate and VIN)
    read them whole, where visitors see them masked."""
    return has_staff_power(user, ["catalog.view_car"]) or sees_stock_details(user)


def car_identity(car: Car) -> str:
    """The car's plate and VIN whole ("plate 7ABC123, VIN 1HGCM82633A004352"), those known: for
    the readers entitled to them (sees_car_identity, and its buyer once paid)."""
    named = (f"plate {car.plate}" if car.plate else "", f"VIN {car.vin}" if car.vin else "")
    return ", ".join(part for part in named if part)


def reader_kind(user: Any) -> str:
    """What a page of cars shows this reader, as the caches of those pages tell readers apart:
    stock staff, other staff (plates and VINs whole, searchable), everyone else."""
    if sees_stock_details(user):
        return "stock"
    return "staff" if sees_car_identity(user) else "public"


def mileage_unit() -> str:
    return MILEAGE_UNITS[settings.CARSALES_MILEAGE_UNIT]


def mileage_text(mileage: int | None) -> str:
    return f"{mileage:,} {mileage_unit()}" if mileage is not None else ""


def engine_text(engine_cc: int | None) -> str:
    return f"{engine_cc / 1000:.1f} L ({engine_cc:,} cm³)" if engine_cc else ""


def power_text(power_kw: int | None) -> str:
    return f"{power_kw} kW ({round(power_kw * HP_PER_KW)} hp)" if power_kw else ""


def days_in_stock(car: Car) -> int | None:
    """Whole days since the car was taken in; None once sold (no longer stock)."""
    if car.status == CarStatus.SOLD:
        return None
    return (timezone.localdate() - timezone.localdate(car.created_at)).days


def car_headline_facts(car: Car) -> list[str]:
    """The few facts a list card shows: year, mileage, fuel, gearbox (those that are stated)."""
    facts = [str(car.model_year), mileage_text(car.mileage), car.get_fuel_display(), car.get_transmission_display()]
    return [fact for fact in facts if fact]


def car_specs(car: Car, *, staff: bool) -> list[tuple[str, str]]:
    """The specification table, stated facts only. Visitors get the plate and VIN masked: the
    serial part singles out one car, which is for its buyer and staff to know."""
    rows = [
        ("Model year", str(car.model_year)),
        ("Built", str(car.factory_year)),
        ("Mileage", mileage_text(car.mileage)),
        ("Fuel", car.get_fuel_display()),
        ("Gearbox", car.get_transmission_display()),
        ("Body", car.get_body_display()),
        ("Colour", car.colour),
        ("Doors", str(car.doors or "")),
        ("Seats", str(car.seats or "")),
        ("Engine", engine_text(car.engine_cc)),
        ("Power", power_text(car.power_kw)),
        ("Plate", car.plate if staff else plate_masked(car.plate)),
        ("VIN", car.vin if staff else vin_masked(car.vin)),
        ("Stock code", car.stock_code),
    ]
    return [(label, value) for label, value in rows if value]
