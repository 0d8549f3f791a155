"""The site, and beside it the floor of the page benchmark: a bare view returning the bytes a page
returned, through the same middleware, served by the same gunicorn."""

import os
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@cache
def _body(name: str) -> tuple[bytes, str]:
    stored = Path(os.environ["BENCH_BARE_DIR"]) / name
    return stored.read_bytes(), (stored.with_suffix(".type")).read_text()


def bare(request: HttpRequest, name: str) -> HttpResponse:
    body, content_type = _body(name)
    return HttpResponse(body, content_type=content_type)


urlpatterns = [path("bench/bare/<slug:name>", bare), path("", include("carsales.urls"))]
