from decimal import Decimal

from django import forms, template

from carsales.core.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | int | float | None) -> str:
    return format_money(amount)


@register.filter
def sub(amount: Decimal, other: Decimal) -> Decimal:
    """`amount` less `other` (a price change shown as a difference)."""
    return amount - other


@register.filter
def fields_in_error(form: forms.BaseForm) -> list[forms.BoundField]:
    """The form's shown fields that have errors, in the order the form shows them."""
    return [field for field in form.visible_fields() if field.errors]
