"""Formatting of amounts in the configured currency."""

from decimal import Decimal

from django.conf import settings

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "BRL": "R$", "RUB": "₽", "JPY": "¥"}


def format_money(amount: Decimal | int | float | None, currency: str | None = None) -> str:
    """Return `amount` as a price, e.g. "$25,000" or "$19,999.50"; "—" when there is none."""
    if amount is None:
        return "—"
    code = currency or settings.CARSALES_CURRENCY
    symbol = CURRENCY_SYMBOLS.get(code, f"{code} ")
    value = Decimal(amount)
    digits = 0 if value == value.to_integral_value() else 2
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.{digits}f}"
