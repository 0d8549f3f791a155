"""Markup rules that a Content Security Policy and assistive technology rely on."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from carsales.conftest import CarFactory, image_upload

TEMPLATES = sorted((Path(settings.BASE_DIR) / "carsales").rglob("templates/**/*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_no_template_has_an_inline_script_or_style_attribute(path: Path):
    source = path.read_text()

    assert not INLINE_SCRIPT.search(source)
    assert not STYLE_ATTRIBUTE.search(source)


# A block a paragraph cannot hold: the browser ends the <p> before it, and what follows leaves the
# paragraph's layout (a row of actions broken in two).
PARAGRAPH = re.compile(r"<p[\s>](?:(?!</p>).)*?<(form|div|ul|ol|table|section|h[1-6])[\s>]", re.DOTALL)
TEMPLATE_COMMENT = re.compile(r"{#.*?#}|{% comment %}.*?{% endcomment %}", re.DOTALL)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_no_paragraph_holds_a_form_or_another_block(path: Path):
    source = TEMPLATE_COMMENT.sub("", path.read_text())

    assert not PARAGRAPH.search(source)


EMAILS = sorted((Path(settings.BASE_DIR) / "carsales").rglob("templates/**/*.txt"))


@pytest.mark.parametrize("path", EMAILS, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_an_emails_first_sentence_after_its_greeting_begins_with_a_capital(path: Path):
    greeting = re.search(r"Hello[^\n]*,\n\n(.)", path.read_text())

    assert greeting is None or greeting.group(1).isupper()


@pytest.mark.django_db
def test_the_admin_car_thumbnail_is_styled_by_a_class_and_named(staff_client, run_tasks):
    car = CarFactory(photo=image_upload())
    run_tasks()  # makes the thumbnail

    response = staff_client.get("/admin/catalog/car/")

    assert b'class="admin-thumb"' in response.content and f'alt="{car}"'.encode() in response.content
    assert b"style=" not in response.content.split(b"<tbody>")[1].split(b"</tbody>")[0]


@pytest.mark.django_db
def test_a_fields_help_text_and_errors_carry_the_ids_its_input_points_to(client: Client):
    response = client.post("/accounts/signup/", {"username": "", "email": "not-an-email"})

    html = response.content.decode()
    described = re.search(r'name="email"[^>]*aria-describedby="([^"]+)"', html) or re.search(
        r'aria-describedby="([^"]+)"[^>]*name="email"', html
    )
    assert described, "the email input names its help text and errors"
    for element_id in described.group(1).split():
        assert f'id="{element_id}"' in html, element_id


def test_the_scan_sees_the_project_templates():
    assert {"base.html", "500.html", "form_fields.html"} <= {path.name for path in TEMPLATES}
