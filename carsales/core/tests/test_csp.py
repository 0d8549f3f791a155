"""Every page carries the Content Security Policy, and the pages that once needed inline code comply."""

import re

import pytest

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
INLINE_CODE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=", re.IGNORECASE)


def directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


def test_the_catalogue_is_served_with_the_content_security_policy(client):
    response = client.get("/")

    assert directives(response["Content-Security-Policy"]) == POLICY


def test_pages_tell_htmx_not_to_inject_its_indicator_styles(client):
    response = client.get("/")

    config = b'<meta name="htmx-config" content=\'{"includeIndicatorStyles": false, "historyCacheSize": 0}\'>'
    assert config in response.content


def test_the_api_docs_page_has_no_inline_script_or_style_and_keeps_the_policy(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert not INLINE_CODE.search(response.content.decode())
    assert directives(response["Content-Security-Policy"]) == POLICY


def test_the_api_docs_setup_script_is_served_as_a_file(client):
    response = client.get("/api/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content


def test_the_browsable_api_allows_the_inline_styles_its_templates_draw_and_no_inline_script(client):
    page = client.get("/api/cars/", HTTP_ACCEPT="text/html")
    answer = client.get("/api/cars/", HTTP_ACCEPT="application/json")

    assert page.status_code == 200 and 'style="float: right' in page.content.decode()
    assert directives(page["Content-Security-Policy"]) == POLICY | {"style-src": "'self' 'unsafe-inline'"}
    assert directives(answer["Content-Security-Policy"]) == POLICY  # only the pages DRF draws
