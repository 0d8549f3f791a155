"""Order facts other apps' templates may show without their code importing orders."""

from typing import Any

from django import template

from carsales.catalog.models import Car

from ..models import Order
from ..selectors import order_holding

register = template.Library()


@register.simple_tag(takes_context=True)
def order_of_viewer(context: Any, car: Car) -> Order | None:
    """The live order in which the viewing user holds `car` (reserved or bought), or None."""
    return order_holding(car=car, user=context["request"].user)
