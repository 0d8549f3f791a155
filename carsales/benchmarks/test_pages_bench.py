"""Pages beside the framework's floor: each page, and a bare Django view returning the same bytes
through the same middleware and the same gunicorn, loaded by wrk (Debian's) on loopback, in
alternation within one run. The uncached car page is served by a second gunicorn whose page
cache stores nothing: every request renders it.

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
SIGNED_IN, UNCACHED = "car page, a signed-in buyer", "car page, uncached (rendered)"
API_UNCACHED = "api list, uncached (serialized)"
GOALS = {"catalogue": 0.8, "car page": 0.8, "api list": 0.8, SIGNED_IN: 0.8, UNCACHED: 0.5, API_UNCACHED: 0.5}


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
    buyer.get(f"/cars/{cars[0].pk}/")  # as its log-in did, this sets the CSRF cookie a signed-in browser holds
    signed_in = "; ".join(
        f"{name}={buyer.cookies[name].value}" for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
    )
    servers: dict[bool, tuple[str, subprocess.Popen[bytes]]] = {}
    try:
        for cached in (True, False):
            servers[cached] = _serve(tmp_path, cached=cached)
        car = f"/cars/{cars[0].pk}/"
        # (server: with the page cache or without, address, cookie)
        pages = {
            "catalogue": (True, "/", None),
            "car page": (True, car, None),
            "api list": (True, "/api/cars/", None),
            SIGNED_IN: (True, car, signed_in),
            UNCACHED: (False, car, None),
            API_UNCACHED: (False, "/api/cars/", None),
        }
        for name, (cached, page, cookie) in pages.items():
            request = urllib.request.Request(servers[cached][0] + page, headers={"Cookie": cookie or ""})
            with urllib.request.urlopen(request) as response:
                body = response.read()
                assert (b"Hi, bench-buyer" in body) == (name == SIGNED_IN), f"{name}: not the page meant"
                (tmp_path / _slug(name)).write_bytes(body)
                (tmp_path / f"{_slug(name)}.type").write_text(response.headers["Content-Type"])
        served = {name: 0.0 for name in pages} | {f"bare {name}": 0.0 for name in pages}
        for _ in range(ROUNDS):
            for name, (cached, page, cookie) in pages.items():
                base = servers[cached][0]
                served[name] += requests_per_second(base + page, cookie) / ROUNDS
                served[f"bare {name}"] += requests_per_second(f"{base}/bench/bare/{_slug(name)}", cookie) / ROUNDS
    finally:
        for _base, server in servers.values():
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


def _serve(bare_dir: Path, *, cached: bool) -> tuple[str, subprocess.Popen[bytes]]:
    """gunicorn (2 workers) serving the site and the bare view, with the page cache or without."""
    port = free_port()
    env = {
        "DJANGO_SETTINGS_MODULE": "carsales.benchmarks.settings",
        "DATABASE_URL": database_url_for_workers(),
        "BENCH_BARE_DIR": str(bare_dir),
        "BENCH_PAGE_CACHE": "on" if cached else "off",
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "carsales.wsgi:application", "-w", "2", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(base + "/"), timeout=30)
    return base, server


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
