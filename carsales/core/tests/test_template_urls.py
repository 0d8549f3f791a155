"""{% url %} reversed once per address (core.template_urls) writes what Django's writes, on every
form of the tag, and follows what an address depends on: the URLconf and the script prefix."""

import json
from decimal import Decimal

import pytest
from django.contrib.staticfiles.storage import StaticFilesStorage
from django.template import Context, Engine
from django.test import RequestFactory, override_settings
from django.urls import NoReverseMatch, clear_script_prefix, set_script_prefix

from carsales.conftest import CarFactory
from carsales.core.storage import ManifestStaticFiles, StaticFiles
from carsales.core.template_urls import _reversed

pytestmark = pytest.mark.django_db

DJANGOS = Engine(libraries={})  # the default builtins: Django's own {% url %}
OURS = Engine(builtins=["carsales.core.template_urls"])

FORMS = [
    "{% url 'catalog:car_list' %}",
    "{% url 'catalog:car_detail' car.pk %}",
    "{% url 'catalog:car_detail' pk=car.pk %}",
    "{% url 'catalog:car_detail' car.pk as link %}[{{ link }}]",
    "{% url 'catalog:no_such_page' as link %}[{{ link }}]",
    "{% url name car.pk %}",
    "{% url 'catalog:car_detail' seven %}",  # neither text nor a whole number: reversed each time
    "{% autoescape off %}{% url 'catalog:car_list' %}?a=1&b=2{% endautoescape %}",
]


@pytest.mark.parametrize("form", FORMS)
def test_each_form_of_the_tag_writes_what_djangos_writes(form):
    context = {"car": CarFactory(), "name": "catalog:car_detail", "seven": Decimal(7)}

    ours = OURS.from_string(form).render(Context(context))
    assert ours == DJANGOS.from_string(form).render(Context(context))
    assert ours == OURS.from_string(form).render(Context(context))  # and again, from the cache


def test_an_address_no_view_has_is_an_error_as_with_djangos():
    with pytest.raises(NoReverseMatch):
        OURS.from_string("{% url 'catalog:no_such_page' %}").render(Context())


def test_an_address_is_reversed_once_then_read_from_the_cache():
    template = OURS.from_string("{% url 'catalog:car_detail' 7 %}")
    template.render(Context())
    before = _reversed.cache_info()

    assert template.render(Context()) == "/cars/7/"
    assert _reversed.cache_info().hits == before.hits + 1
    assert _reversed.cache_info().misses == before.misses


def test_the_address_follows_the_script_prefix_and_the_urlconf():
    template = OURS.from_string("{% url 'catalog:car_list' %}")
    assert template.render(Context()) == "/"
    set_script_prefix("/shop/")
    try:
        assert template.render(Context()) == "/shop/"
    finally:
        clear_script_prefix()
    with override_settings(ROOT_URLCONF="carsales.core.tests.urls_moved"):
        assert template.render(Context()) == "/moved/"
    assert template.render(Context()) == "/"


def test_the_sites_templates_use_it():
    from django.template import engines

    template = engines["django"].from_string("{% url 'catalog:car_detail' 8 %}")
    request = RequestFactory().get("/")
    before = _reversed.cache_info().misses + _reversed.cache_info().hits

    assert template.render({}, request) == "/cars/8/"
    assert _reversed.cache_info().misses + _reversed.cache_info().hits == before + 1


def test_static_urls_are_the_storages_and_worked_out_once(tmp_path):
    ours, django = StaticFiles(location=tmp_path, base_url="/static/"), StaticFilesStorage(tmp_path, "/static/")

    assert ours.url("css/site.css") == django.url("css/site.css") == "/static/css/site.css"
    before = ours._url_of.cache_info().hits
    ours.url("css/site.css")
    assert ours._url_of.cache_info().hits == before + 1


def test_hashed_static_urls_come_from_the_manifest_and_a_missing_name_is_refused_each_time(tmp_path):
    manifest = {"paths": {"css/site.css": "css/site.0123abcd.css"}, "version": "1.1", "hash": "x"}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    storage = ManifestStaticFiles(location=tmp_path, base_url="/static/")

    assert storage.url("css/site.css") == storage.url("css/site.css") == "/static/css/site.0123abcd.css"
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("css/gone.css")
