from django import template

from carsales.catalog.facts import car_headline_facts, car_identity, car_specs, days_in_stock, sees_car_identity
from carsales.catalog.models import Car

register = template.Library()


@register.filter
def headline_facts(car: Car) -> str:
    return " · ".join(car_headline_facts(car))


@register.simple_tag(takes_context=True)
def specs(context: template.Context, car: Car) -> list[tuple[str, str]]:
    return car_specs(car, staff=sees_car_identity(context.get("user")))


@register.filter
def stock_days(car: Car) -> int | None:
    return days_in_stock(car)


@register.filter
def identity(car: Car) -> str:
    return car_identity(car)
