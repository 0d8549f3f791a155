from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {"site_name": "carsales", "currency": settings.CARSALES_CURRENCY, "dealer": settings.CARSALES_DEALER}
