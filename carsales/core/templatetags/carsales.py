from decimal import Decimal

from django import template

from carsales.core.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | int | float | None) -> str:
    return format_money(amount)
