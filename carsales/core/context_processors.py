from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    # Not "site_name": Django's log-in and password views pass theirs (the host) to their pages.
    return {"site_title": "carsales", "currency": settings.CARSALES_CURRENCY, "dealer": settings.CARSALES_DEALER}
