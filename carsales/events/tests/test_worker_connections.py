"""A broker's worker (Celery, RQ) keeps its database connection from one job to the next, whatever
CONN_MAX_AGE says (as events_worker does), and replaces one the database dropped before the job
runs, a delivery or the Celery sweep: none fails for it."""

import pytest
from django.db import connection, connections

from carsales.events import celery_tasks
from carsales.events.services import delivery_run

pytestmark = pytest.mark.django_db(transaction=True)
NO_SUCH_DELIVERY = 987654


def test_a_healthy_connection_is_kept_past_conn_max_age():
    connection.ensure_connection()
    kept = connection.connection
    connection.close_at = 0  # past CONN_MAX_AGE, or CONN_MAX_AGE=0

    assert delivery_run(delivery_id=NO_SUCH_DELIVERY) == "skipped"

    assert connection.connection is kept


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite has no connection to lose")
@pytest.mark.parametrize("job", ["deliver", "housekeeping"])
def test_a_connection_the_database_dropped_is_replaced_before_the_job(job: str):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (dropped,) = cursor.fetchone()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
    finally:
        other.close()

    if job == "deliver":
        assert celery_tasks.deliver.run(delivery_id=NO_SUCH_DELIVERY) == "skipped"
    else:
        celery_tasks.housekeeping.run()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != dropped
