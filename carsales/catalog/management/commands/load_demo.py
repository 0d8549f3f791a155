import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from vininfo import Vin

from carsales.catalog.demo_photos import car_picture
from carsales.catalog.models import Brand, Car, PriceChange, price_history_written
from carsales.catalog.services import brand_create, car_create
from carsales.core.groups import SALESPERSON

DEMO_USERS = [
    # username, password, role, name: a superuser (also the admin), a salesperson (the Salesperson
    # group's permissions only), a buyer
    ("staff", "carsales-staff", "superuser", ("Dana", "Reyes")),
    ("sales", "carsales-sales", "salesperson", ("Sam", "Okafor")),
    ("buyer", "carsales-buyer", "buyer", ("Alex", "Morgan")),
]
# Each model as sold: its body and the fuels it comes with. Together they cover every body and fuel.
MODELS = {
    "Toyota": [
        ("Corolla", "sedan", "petrol hybrid"),
        ("Yaris", "hatchback", "petrol hybrid"),
        ("RAV4", "suv", "hybrid plugin_hybrid"),
        ("Hilux", "pickup", "diesel"),
    ],
    "Volkswagen": [
        ("Golf", "hatchback", "petrol diesel plugin_hybrid"),
        ("Passat", "estate", "diesel plugin_hybrid"),
        ("ID.4", "suv", "electric"),
        ("Transporter", "van", "diesel"),
    ],
    "Ford": [
        ("Focus", "estate", "petrol diesel"),
        ("Mustang", "coupe", "petrol"),
        ("Ranger", "pickup", "diesel"),
        ("Transit", "van", "diesel"),
    ],
    "Honda": [("Civic", "hatchback", "petrol hybrid"), ("Accord", "sedan", "hybrid"), ("CR-V", "suv", "petrol hybrid")],
    "BMW": [
        ("320i", "sedan", "petrol"),
        ("X3", "suv", "diesel plugin_hybrid"),
        ("M4", "convertible", "petrol"),
        ("i4", "sedan", "electric"),
    ],
    "Fiat": [("Panda", "hatchback", "petrol lpg"), ("500C", "convertible", "petrol"), ("Doblò", "van", "diesel lpg")],
    "Chevrolet": [("Onix", "hatchback", "petrol"), ("Cruze", "sedan", "petrol"), ("Silverado", "pickup", "petrol")],
}
# The maker codes (WMI) demo VINs start with; North American ones carry a real check digit.
MAKER_CODES = {"Toyota": "JTD", "Volkswagen": "WVW", "Ford": "1FA", "Honda": "1HG", "BMW": "WBA", "Fiat": "ZFA",
               "Chevrolet": "1G1"}  # fmt: skip
PAINTS = {
    "Red": (200, 16, 46),
    "Blue": (30, 60, 140),
    "White": (235, 235, 235),
    "Black": (35, 35, 38),
    "Grey": (120, 125, 132),
    "Green": (20, 110, 70),
    "Orange": (230, 150, 20),
}
DOORS_AND_SEATS = {"coupe": (2, 4), "convertible": (2, 4), "van": (4, 3), "pickup": (4, 5)}
# Each model's engine (cc; None: electric), power (kW) and price new: a demo car is priced as its
# model, age and mileage say, so the stock reads like a real forecourt's.
MODEL_FACTS = {
    "Corolla": (1798, 103, 27_000), "Yaris": (1490, 85, 22_000), "RAV4": (2487, 160, 36_000),
    "Hilux": (2755, 150, 42_000), "Golf": (1498, 110, 30_000), "Passat": (1968, 110, 38_000),
    "ID.4": (None, 150, 45_000), "Transporter": (1968, 110, 40_000), "Focus": (1499, 92, 26_000),
    "Mustang": (4951, 330, 45_000), "Ranger": (1996, 125, 38_000), "Transit": (1995, 96, 42_000),
    "Civic": (1498, 134, 28_000), "Accord": (1993, 158, 33_000), "CR-V": (1498, 142, 34_000),
    "320i": (1998, 135, 45_000), "X3": (1995, 140, 52_000), "M4": (2993, 353, 80_000), "i4": (None, 250, 55_000),
    "Panda": (999, 51, 17_000), "500C": (1242, 51, 21_000), "Doblò": (1598, 77, 25_000),
    "Onix": (999, 85, 17_000), "Cruze": (1399, 113, 22_000), "Silverado": (5328, 265, 48_000),
}  # fmt: skip
# The car the search box's example names ("e.g. Honda Civic") is in the demo stock.
SEARCH_EXAMPLE = ("Honda", "Civic", "hatchback", "petrol")
DEMO_CAR_COUNT = 30
VIN_YEAR_LETTERS = "ABCDEFGHJKLMNPRSTVWXY123456789"  # position 10, a 30-year cycle from 1980
VIN_SERIAL_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def demo_variants(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """DEMO_CAR_COUNT (brand, model, body, fuel): first one of each body and fuel, then at random."""
    variants = [(brand, model, body, fuel) for brand, models in MODELS.items()
                for model, body, fuels in models for fuel in fuels.split()]  # fmt: skip
    rng.shuffle(variants)
    chosen: list[tuple[str, str, str, str]] = [SEARCH_EXAMPLE]
    for variant in variants:
        if variant[2] not in {v[2] for v in chosen} or variant[3] not in {v[3] for v in chosen}:
            chosen.append(variant)
    return chosen + [rng.choice(variants) for _ in range(DEMO_CAR_COUNT - len(chosen))]


def demo_price(price_new: int, *, years: int, mileage: int) -> Decimal:
    """What such a car fetches: about 14% off a year, up to 30% more for its mileage, in $500s."""
    worth = price_new * 0.86**years * (1 - 0.3 * min(mileage, 200_000) / 200_000)
    return Decimal(max(3_000, round(worth / 500) * 500))


def demo_vin(rng: random.Random, *, brand: str, model_year: int) -> str:
    """A VIN of the brand's maker code and model year, with a correct check digit."""
    body = "".join(rng.choice(VIN_SERIAL_CHARS) for _ in range(5))
    serial = "".join(rng.choice(VIN_SERIAL_CHARS) for _ in range(7))
    year = VIN_YEAR_LETTERS[(model_year - 1980) % 30]
    for check in "0123456789X":
        vin = f"{MAKER_CODES[brand]}{body}{check}{year}{serial}"
        if Vin(vin).verify_checksum(check_year=False):
            return vin
    raise AssertionError("one of 0-9 and X is always the check digit")


class Command(BaseCommand):
    help = "Load the demo dealership: brands, 30 cars with photos, a staff user and a buyer. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        for username, password, role, (first_name, last_name) in DEMO_USERS:
            if not User.objects.filter(username=username).exists():
                user = User.objects.create_user(
                    username=username,
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                    email=f"{username}@carsales.local",
                    is_staff=role != "buyer",
                    is_superuser=role == "superuser",
                )
                if role == "salesperson":
                    user.groups.add(Group.objects.get(name=SALESPERSON))
        if Car.objects.exists():
            self.stdout.write("Demo cars already present; nothing to add.")
            return
        rng = random.Random(2024)
        with transaction.atomic():
            brands = {name: Brand.objects.filter(name=name).first() or brand_create(name=name) for name in MODELS}
            for number, (brand_name, model, body, fuel) in enumerate(demo_variants(rng)):
                factory_year = rng.randint(2012, 2025)
                model_year = factory_year + rng.choice([0, 0, 1])
                colour = rng.choice(list(PAINTS))
                doors, seats = DOORS_AND_SEATS.get(body, (rng.choice([4, 5]), 5))
                engine_cc, power_kw, price_new = MODEL_FACTS[model]
                years_driven = max(0, date.today().year - factory_year)
                mileage = years_driven * rng.randrange(6_000, 18_000, 100) + rng.randrange(0, 900)
                car = car_create(
                    brand=brands[brand_name],
                    model=model,
                    factory_year=factory_year,
                    model_year=model_year,
                    plate=f"{number % 9 + 1}CSD{number:03d}",  # shaped as a US plate, for a dollar dealership
                    value=demo_price(price_new, years=years_driven, mileage=mileage),
                    mileage=mileage,
                    fuel=fuel,
                    transmission="automatic" if fuel == "electric" else rng.choice(["manual", "automatic"]),
                    body=body,
                    colour=colour,
                    doors=doors,
                    seats=seats,
                    engine_cc=engine_cc,
                    power_kw=power_kw,
                    vin=demo_vin(rng, brand=brand_name, model_year=model_year) if number % 3 else "",
                    photo=ContentFile(
                        car_picture(paint=PAINTS[colour], seed=number, body=body), name=f"demo-{number:03d}.jpg"
                    ),
                )
                # Taken in over the last months, so days in stock mean something in the demo.
                taken_in = timezone.now() - timedelta(days=rng.randint(0, 150), hours=rng.randint(0, 23))
                Car.objects.filter(pk=car.pk).update(created_at=taken_in)
                with price_history_written():
                    PriceChange.objects.filter(car=car).update(changed_at=taken_in)  # listed when taken in
        self.stdout.write(self.style.SUCCESS(f"Loaded {DEMO_CAR_COUNT} demo cars."))
