import random
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction

from carsales.catalog.demo_photos import car_picture
from carsales.catalog.models import Brand, Car
from carsales.catalog.services import brand_create, car_create
from carsales.core.groups import SALESPERSON

DEMO_USERS = [
    # username, password, role: a superuser (also the admin), a salesperson (the Salesperson
    # group's permissions only), a buyer
    ("staff", "carsales-staff", "superuser"),
    ("sales", "carsales-sales", "salesperson"),
    ("buyer", "carsales-buyer", "buyer"),
]
MODELS = {
    "Toyota": ["Corolla", "Camry", "RAV4", "Yaris"],
    "Volkswagen": ["Golf", "Polo", "Tiguan", "Passat"],
    "Ford": ["Focus", "Mustang", "Ranger", "Fiesta"],
    "Honda": ["Civic", "Accord", "CR-V"],
    "BMW": ["320i", "X3", "M4"],
    "Fiat": ["Uno", "Argo", "Toro"],
    "Chevrolet": ["Onix", "Cruze", "Tracker"],
}
PAINTS = [(200, 16, 46), (30, 60, 140), (235, 235, 235), (35, 35, 38), (120, 125, 132), (20, 110, 70), (230, 150, 20)]
DEMO_CAR_COUNT = 30


class Command(BaseCommand):
    help = "Load the demo dealership: brands, 30 cars with photos, a staff user and a buyer. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        for username, password, role in DEMO_USERS:
            if not User.objects.filter(username=username).exists():
                user = User.objects.create_user(
                    username=username,
                    password=password,
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
            for number in range(DEMO_CAR_COUNT):
                brand_name = rng.choice(list(MODELS))
                factory_year = rng.randint(2012, 2025)
                car_create(
                    brand=brands[brand_name],
                    model=rng.choice(MODELS[brand_name]),
                    factory_year=factory_year,
                    model_year=factory_year + rng.choice([0, 0, 1]),
                    plate=f"DEMO{number:03d}",
                    value=Decimal(rng.randrange(8_000, 95_000, 500)),
                    photo=ContentFile(
                        car_picture(paint=rng.choice(PAINTS), seed=number), name=f"demo-{number:03d}.jpg"
                    ),
                )
        self.stdout.write(self.style.SUCCESS(f"Loaded {DEMO_CAR_COUNT} demo cars."))
