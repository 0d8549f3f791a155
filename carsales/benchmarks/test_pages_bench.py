"""Pages beside the framework's floor: each page, and a bare Django view returning the same bytes
through the same middleware and the same gunicorn, loaded by wrk (Debian's) on loopback, in
alternation within one run.

Run with `make bench` (which installs wrk when missing).
"""

import re
import shutil
import socket
import subprocess
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from carsales.catalog.models import Brand
from carsales.catalog.services import car_create
from carsales.events.tests.processes import ROOT, database_url_for_workers, wait_until

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db(transaction=True)]
CARS, ROUNDS, SECONDS = 200, 2, 4
GOALS = {"catalogue": 0.8, "car page": 0.8, "api list": 0.8, "car page, signed in (rendered)": 0.5}
# Anonymous visitors share cached pages; a signed-in buyer gets the car page rendered for them.
SIGNED_IN = "car page, signed in (rendered)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def requests_per_second(url: str, cookie: str | None = None) -> float:
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    command = ["wrk", "-t2", "-c8", f"-d{SECONDS}s", *headers, url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        pytest.fail(f"{url} answered errors under load:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def test_pages_beside_a_bare_view_returning_the_same_bytes(tmp_path: Path, figures):
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (make bench installs it: apt-get install wrk)")
    brand = Brand.objects.create(name="Bench", slug="bench")
    cars = [
        car_create(brand=brand, model=f"Model {n % 20}", factory_year=2020, model_year=2021, plate=f"P{n}",
                   value=Decimal(10_000 + n), bio="A fine car.", mileage=n * 100, fuel="diesel")
        for n in range(CARS)
    ]  # fmt: skip
    buyer = Client()
    buyer.force_login(get_user_model().objects.create_user("bench-buyer"))
    cookies = {SIGNED_IN: f"{settings.SESSION_COOKIE_NAME}={buyer.cookies[settings.SESSION_COOKIE_NAME].value}"}
    port = free_port()
    env = {
        "DJANGO_SETTINGS_MODULE": "carsales.benchmarks.settings",
        "DATABASE_URL": database_url_for_workers(),
        "BENCH_BARE_DIR": str(tmp_path),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "carsales.wsgi:application", "-w", "2", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(base + "/"), timeout=30)
        car = f"/cars/{cars[0].pk}/"
        pages = {"catalogue": "/", "car page": car, "car page, signed in (rendered)": car, "api list": "/api/cars/"}
        for name, page in pages.items():
            request = urllib.request.Request(base + page, headers={"Cookie": cookies.get(name, "")})
            with urllib.request.urlopen(request) as response:
                body = response.read()
                assert (b"Hi, bench-buyer" in body) == (name == SIGNED_IN), f"{name}: not the page meant"
                (tmp_path / _slug(name)).write_bytes(body)
                (tmp_path / f"{_slug(name)}.type").write_text(response.headers["Content-Type"])
        served = {name: 0.0 for name in pages} | {f"bare {name}": 0.0 for name in pages}
        for _ in range(ROUNDS):
            for name, page in pages.items():
                served[name] += requests_per_second(base + page, cookies.get(name)) / ROUNDS
                bare = f"{base}/bench/bare/{_slug(name)}"
                served[f"bare {name}"] += requests_per_second(bare, cookies.get(name)) / ROUNDS
    finally:
        server.terminate()
        server.wait(timeout=10)
    for name in pages:
        ratio = served[name] / served[f"bare {name}"]
        print(
            f"\n[{connection.vendor}] {name} ({CARS} cars): {served[name]:,.0f} req/s, "
            f"bare view {served[f'bare {name}']:,.0f} req/s = {ratio:.0%} (goal ≥ {GOALS[name]:.0%})"
        )
        figures(
            f"{name} req/s ÷ bare view (wrk)", f"{ratio:.0%}", goal=f"≥ {GOALS[name]:.0%}", met=ratio >= GOALS[name]
        )


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
