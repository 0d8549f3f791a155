"""Search at 100,000 cars: the forgiving search beside the plain filter it grew from.

Run with `make bench` (SQLite) or with DATABASE_URL set (PostgreSQL, trigram indexes). Prints
milliseconds per search and the ratio to the floor, measured in one run.
"""

import random
import time

import pytest
from django.db import connection
from django.db.models import Q, QuerySet

from carsales.catalog.models import Brand, Car
from carsales.catalog.search import car_search

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db]
CARS = 100_000
REPEATS = 20
PAGE = 24
MAKES = {
    "Honda": ["Civic", "Accord", "CR-V", "Jazz", "HR-V"],
    "Volkswagen": ["Golf", "Polo", "Passat", "Tiguan", "Touran"],
    "Toyota": ["Corolla", "Yaris", "RAV4", "Camry", "Hilux"],
    "Ford": ["Focus", "Fiesta", "Kuga", "Mustang", "Ranger"],
    "Chevrolet": ["Cruze", "Onix", "Tracker", "Spin", "Silverado"],
}


def fill() -> None:
    rng = random.Random(7)
    brands = {name: Brand.objects.create(name=name, slug=name.lower()) for name in MAKES}
    rows = []
    for n in range(CARS):
        make = rng.choice(list(MAKES))
        year = rng.randint(2005, 2025)
        rows.append(
            Car(brand=brands[make], model=rng.choice(MAKES[make]), factory_year=year, model_year=year,
                plate=f"B{n}", value=1000 + n % 5000, stock_code=f"S{n:09d}")
        )  # fmt: skip
    # Django's own bulk_create, past CarQuerySet's refusal: a fill, not a car intake.
    QuerySet.bulk_create(Car.objects.all(), rows, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def per_search_ms(search) -> float:
    started = time.perf_counter()
    for _ in range(REPEATS):
        search()
    return (time.perf_counter() - started) / REPEATS * 1000


def page_of(cars: QuerySet[Car]) -> None:
    list(cars.order_by("-created_at", "-id")[:PAGE])
    cars.count()


def test_forgiving_search_stays_near_the_plain_filter_at_100k_cars():
    fill()
    cars = Car.objects.with_brand().available()
    every = Car.objects.with_brand()

    def floor() -> None:
        page_of(cars.filter(Q(model__icontains="civic") | Q(brand__folded_name__icontains="civic")))

    timings = {
        "plain filter (floor)": per_search_ms(floor),
        "'civic'": per_search_ms(lambda: page_of(car_search(cars, "civic", staff=False)[0])),
        "'hnda civic' (corrected)": per_search_ms(lambda: page_of(car_search(cars, "hnda civic", staff=False)[0])),
        "'golf 2022' (year)": per_search_ms(lambda: page_of(car_search(cars, "golf 2022", staff=False)[0])),
        "'xqzt' (no match, suggestion)": per_search_ms(lambda: page_of(car_search(cars, "xqzt", staff=False)[0])),
        # Staff find a car by its papers among every car, sold or not: read from indexes (search.identified_by).
        "staff: plate 'b 77-777'": per_search_ms(lambda: page_of(car_search(every, "b 77-777", staff=True)[0])),
        "staff: stock code": per_search_ms(lambda: page_of(car_search(every, "s000077777", staff=True)[0])),
    }
    assert [car.plate for car in car_search(every, "b 77-777", staff=True)[0]] == ["B77777"]
    found, outcome = car_search(cars, "hnda civic", staff=False)
    assert outcome.understood == "honda civic" and found.exists()
    floor_ms = timings["plain filter (floor)"]
    print(f"\n[{connection.vendor}] search at {CARS:,} cars, a page of {PAGE} and its count, {REPEATS} runs each:")
    for name, ms in timings.items():
        print(f"  {name:<32} {ms:8.1f} ms   x{ms / floor_ms:.2f} of the floor")
