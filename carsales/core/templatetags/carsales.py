from decimal import Decimal

from django import template

from carsales.core.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | int | float | None) -> str:
    return format_money(amount)


@register.filter
def sub(amount: Decimal, other: Decimal) -> Decimal:
    """`amount` less `other` (a price change shown as a difference)."""
    return amount - other
