"""The API keeps its OpenAPI contract whatever it is sent: schemathesis probes every operation.

For each role (anonymous, buyer, staff) every operation of /api/schema/ is called with requests
made from the schema, valid and invalid, a fixed number per operation, against a few real rows.
It fails on any 5xx, on a body that breaks its response schema and on a status code the schema
does not document. The examples are derandomized, so a failure reproduces on every run.
"""

from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from carsales.catalog.services import car_photos_add
from carsales.conftest import BrandFactory, CarFactory, UserFactory, image_upload, order_for, sold_car
from carsales.orders.services import cart_for_buyer, cart_item_add

EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
HYPOTHESIS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def seed() -> dict[str, int]:
    """A few brands and cars (one with a gallery photo), a buyer with a cart and an order, a sale;
    returns ids to aim at."""
    brands = [BrandFactory(name=name) for name in ("Honda", "Kia", "Seat")]
    cars = [CarFactory(brand=brands[n % 3]) for n in range(4)]
    buyer = UserFactory(username="buyer")
    order = order_for(cars[0], user=buyer)
    cart_item_add(cart=cart_for_buyer(buyer=buyer.buyer), car=cars[1])
    sale_car = sold_car()
    (photo,) = car_photos_add(car=cars[1], files=[image_upload()])
    return {"id": cars[1].pk, "car_id": cars[1].pk, "order": order.pk, "sale_car": sale_car.pk, "photo_id": photo.pk}


def token_for(role: str) -> str | None:
    if role == "anonymous":
        return None
    user = UserFactory(is_staff=True, is_superuser=True) if role == "staff" else UserFactory.create()
    return Token.objects.create(user=user).key


def cases(operation: Any, ids: dict[str, int]) -> st.SearchStrategy:
    """Valid and invalid requests; those with an id also aimed at a row that exists."""
    strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    names = {parameter.name for parameter in operation.path_parameters}
    if names:
        strategies.append(operation.as_strategy(path_parameters={name: ids[name] for name in names}))
    return st.one_of(strategies)


# A real transaction per request, as in production: a request that breaks its transaction
# (a database error) shows up as the 500 it is, instead of poisoning a test-wide atomic block.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["anonymous", "buyer", "staff"])
def test_every_api_operation_keeps_its_contract_for_any_request(role):
    ids = seed()
    token = token_for(role)
    headers = {"Authorization": f"Token {token}"} if token else {}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @HYPOTHESIS
        @given(case=cases(operation, ids))
        def probe(case: Any) -> None:
            case.headers = {**(case.headers or {}), **headers}
            case.validate_response(case.call(), checks=CHECKS)

        try:
            probe()
        except Exception as failure:  # every operation is probed; all failures are reported together
            failures.append(f"{operation.label}:\n{failure}")
    assert not failures, "\n\n".join(failures)
