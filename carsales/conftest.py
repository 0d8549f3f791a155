import importlib
import threading
from collections.abc import Callable
from io import BytesIO
from typing import Any, cast

import factory
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from carsales.catalog.models import Brand, Car
from carsales.core.testing import muted, signals_sent
from carsales.events.services import deliveries_claim, deliveries_run_claimed
from carsales.events.testing import deliveries_owed, deliveries_run

# What only migrations build, not the models: PostgreSQL's own indexes (a trigram search, NULL
# first going up), the catalogue version's NOTIFY, the triggers (live order lines and their cars,
# inventory snapshots, API tokens revoked by a new password). The suite builds its tables from the
# models (--no-migrations), then adds these.
MIGRATION_ONLY_SCHEMA = [
    ("carsales.catalog.migrations.0012_search_indexes", "add_trigram_indexes"),
    ("carsales.catalog.migrations.0018_catalogue_orderings_indexed", "add_dearest_first_index"),
    ("carsales.catalog.migrations.0019_catalogue_version_notified", "add_version_notify"),
    ("carsales.orders.migrations.0007_live_lines_hold_held_cars", "add_live_line_check"),
    ("carsales.orders.migrations.0008_held_cars_stay_held_while_lines_hold_them", "add_held_car_check"),
    ("carsales.inventory.migrations.0005_snapshot_each_totals_change", "add_totals_snapshot"),
    ("carsales.accounts.migrations.0007_user_names_and_emails_indexed_in_any_case", "create"),
    ("carsales.accounts.migrations.0008_a_new_password_revokes_api_tokens", "add_token_revocation"),
]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        for module, function in MIGRATION_ONLY_SCHEMA:
            getattr(importlib.import_module(module), function)(None, editor)


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    """Each test starts with an empty cache: what a test cached came from its own, rolled-back data."""
    for cache in caches.all():
        cache.clear()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @classmethod
    def _after_postgeneration(cls, instance: Any, create: bool, results: Any = None) -> None:
        if create:
            instance.save(update_fields=["password"])


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.LazyAttribute(lambda b: b.name.lower().replace(" ", "-"))


class CarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Car

    brand = factory.SubFactory(BrandFactory)
    model = factory.Sequence(lambda n: f"Model {n}")
    factory_year = 2020
    model_year = 2021
    plate = factory.Sequence(lambda n: f"PLT{n:05d}")
    value = factory.Sequence(lambda n: 10_000 + n)


def order_for(*cars: Car, user: Any = None) -> Any:
    """Place an order for these cars through the real cart and checkout; their status follows."""
    from carsales.orders.services import cart_for_buyer, cart_item_add, order_place

    user = user or UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    for car in cars:
        cart_item_add(cart=cart, car=car)
    return order_place(cart=cart, buyer=user.buyer, actor=user)


def a_cart_of_three_cars() -> tuple[Any, Any]:
    """A buyer and their cart holding three cars, on a day that already had an order (its
    analytics row made): what a checkout of three cars starts from."""
    from carsales.orders.services import cart_for_buyer, cart_item_add

    order_for(cast(Car, CarFactory(bio="Text.")))
    user: Any = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    for car in CarFactory.create_batch(3, bio="Text."):
        cart_item_add(cart=cart, car=car)
    return user, cart


def reserved_car(**fields: Any) -> Car:
    """A car some buyer has ordered and not paid for yet."""
    car = cast(Car, CarFactory(**fields))
    order_for(car)
    car.refresh_from_db()
    return car


def sold_car(**fields: Any) -> Car:
    """A car some buyer ordered and paid for."""
    from carsales.orders.services import order_mark_paid

    car = cast(Car, CarFactory(**fields))
    order_mark_paid(order=order_for(car), actor=AnonymousUser())
    car.refresh_from_db()
    return car


def image_bytes(width: int, height: int, fmt: str = "JPEG") -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (width, height), (180, 30, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


def image_upload(width: int = 1200, height: int = 800, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(width, height), content_type="image/jpeg")


@pytest.fixture
def user() -> Any:
    return UserFactory()


@pytest.fixture
def staff() -> Any:
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client: Any, staff: Any) -> Any:
    client.force_login(staff)
    return client


@pytest.fixture
def buyer_client(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def buyer_api(user: Any) -> APIClient:
    """An API client authenticated as `user` with a token, as a buyer's program would be."""
    return token_client(user)


@pytest.fixture
def staff_api(staff: Any) -> APIClient:
    return token_client(staff)


@pytest.fixture
def run_tasks() -> Callable[[], None]:
    """Run every due delivery and queued background task now, as the worker would, then return."""

    # The worker's own loop closes the connection between tasks, which would end the test's
    # transaction; this claims and runs tasks the same way on the test's connection.
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )

    def run() -> None:
        while True:
            if claimed := deliveries_claim(worker=worker.worker_id, limit=50):
                deliveries_run_claimed(claimed, worker=worker.worker_id)
            elif task := DBTaskResult.objects.ready().first():
                task.claim(worker.worker_id)
                worker.run_task(task)
            else:
                return

    return run


def run_together(jobs: list[Callable[[], object]]) -> list[BaseException]:
    """Start the jobs at once, each in a thread with its own connection; return their errors."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def worker(job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as error:  # collected for the test to assert on
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.fixture
def mute() -> Callable[..., Any]:
    """`with mute("app.receiver_uid"):` — those receivers do not run inside the block."""
    return muted


@pytest.fixture
def sent_signals() -> Any:
    """Every signal the test sends, in order: `sent_signals.names()`, `sent_signals.of("order_placed")`."""
    with signals_sent() as sent:
        yield sent


@pytest.fixture
def durable() -> Any:
    """`with durable.owed() as owed:` captures the deliveries a block writes; `durable.run(owed)`
    runs them now, as a worker would (every pending one without an argument)."""

    class Durable:
        owed = staticmethod(deliveries_owed)
        run = staticmethod(deliveries_run)

    return Durable()
