import pytest
from django.contrib import admin

from carsales.conftest import CarFactory

pytestmark = pytest.mark.django_db


def test_every_registered_model_has_a_working_admin_list_and_add_page(staff_client):
    CarFactory()
    for model in admin.site._registry:
        meta = model._meta
        changelist = staff_client.get(f"/admin/{meta.app_label}/{meta.model_name}/", {"q": "x"})
        assert changelist.status_code == 200, meta.label


def test_every_project_model_is_registered_in_the_admin():
    from django.apps import apps

    project_models = [m for m in apps.get_models() if m.__module__.startswith("carsales.")]

    assert project_models and all(m in admin.site._registry for m in project_models)
