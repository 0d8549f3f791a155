import pytest

from carsales.catalog.models import Brand, BrandSlugHistory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name, slug, field, message",
    [
        ("honda", "honda-2", "name", "A brand named Honda already exists."),
        ("Mercedes Benz", "mercedes-benz", "slug", "Brand with this Slug already exists."),
        ("!!!", "", "slug", "This field is required."),
    ],
)
def test_the_admin_brand_form_answers_a_clash_with_a_form_error(
    staff_client, honda_and_mercedes, name, slug, field, message
):
    response = staff_client.post("/admin/catalog/brand/add/", {"name": name, "slug": slug})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert Brand.objects.count() == 2


def test_the_admin_accepts_a_brand_slug_in_another_script(staff_client):
    response = staff_client.post("/admin/catalog/brand/add/", {"name": "日産", "slug": "日産"})

    assert response.status_code == 302
    assert Brand.objects.get(slug="日産").name == "日産"


def test_renaming_a_brand_in_the_admin_keeps_its_old_slug_working(staff_client):
    brand = Brand.objects.create(name="Honda", slug="honda")

    response = staff_client.post(f"/admin/catalog/brand/{brand.pk}/change/", {"name": "Honda Motor"})

    assert response.status_code == 302
    assert Brand.objects.get(pk=brand.pk).slug == "honda-motor"
    assert BrandSlugHistory.objects.filter(brand=brand, slug="honda").exists()
