"""Local development (debug on unless DEBUG=0) and the `make run` demo, which runs it with debug
off; a fixed throwaway secret."""

import os

os.environ.setdefault("DEBUG", "1")

from .base import *  # noqa: F403

SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-never-use-in-production")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = BASE_DIR / "var" / "mail"  # noqa: F405
# The demo's dealership: a 555 number and an example.com address reach nobody.
CARSALES_DEALER = {
    "name": os.environ.get("CARSALES_DEALER_NAME", "carsales"),
    "phone": os.environ.get("CARSALES_DEALER_PHONE", "+1 555 0100"),
    "email": os.environ.get("CARSALES_DEALER_EMAIL", "sales@carsales.example"),
    "address": os.environ.get("CARSALES_DEALER_ADDRESS", "1 Showroom Road, Springfield"),
    "payment": os.environ.get(
        "CARSALES_DEALER_PAYMENT",
        "By bank transfer to carsales dealership, Example Bank, account 000123456, routing 011000015, quoting your "
        "order number; or by card or cash at the showroom.",
    ),
}
# The demo dealership's own clock (Springfield, Illinois): deadlines and order times as its buyers read them.
TIME_ZONE = os.environ.get("TIME_ZONE", "America/Chicago")
# Its buyers read odometers in miles (CARSALES_MILEAGE_UNIT=km for a dealership that reads kilometres).
CARSALES_MILEAGE_UNIT = os.environ.get("CARSALES_MILEAGE_UNIT", "mi")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"{CARSALES_DEALER['name']} <{CARSALES_DEALER['email']}>")
