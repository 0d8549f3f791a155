import pytest

from carsales.catalog.models import Brand, BrandSlugHistory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name, message",
    [
        ("honda", "A brand named Honda already exists."),
        ("!!!", "Give the brand a name with at least one letter or digit."),
    ],
)
def test_the_admin_brand_form_answers_a_clash_with_a_form_error(staff_client, honda_and_mercedes, name, message):
    response = staff_client.post("/admin/catalog/brand/add/", {"name": name})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == [message]
    assert Brand.objects.count() == 2


def test_the_admin_gives_a_new_brand_a_slug_of_its_own_never_typed_by_hand(staff_client, honda_and_mercedes):
    response = staff_client.post("/admin/catalog/brand/add/", {"name": "Mercedes Benz", "slug": "honda"})

    assert response.status_code == 302
    assert Brand.objects.get(name="Mercedes Benz").slug == "mercedes-benz-2"


def test_the_admin_never_gives_a_new_brand_another_brands_old_slug(staff_client):
    renamed = Brand.objects.create(name="Kia", slug="kia")
    staff_client.post(f"/admin/catalog/brand/{renamed.pk}/change/", {"name": "Kia Motors"})

    staff_client.post("/admin/catalog/brand/add/", {"name": "Kia"})

    assert Brand.objects.get(name="Kia").slug == "kia-2"
    assert BrandSlugHistory.objects.get(slug="kia").brand == renamed


def test_the_admin_accepts_a_brand_name_in_another_script(staff_client):
    response = staff_client.post("/admin/catalog/brand/add/", {"name": "日産"})

    assert response.status_code == 302
    assert Brand.objects.get(slug="日産").name == "日産"


def test_renaming_a_brand_in_the_admin_keeps_its_old_slug_working(staff_client):
    brand = Brand.objects.create(name="Honda", slug="honda")

    response = staff_client.post(f"/admin/catalog/brand/{brand.pk}/change/", {"name": "Honda Motor"})

    assert response.status_code == 302
    assert Brand.objects.get(pk=brand.pk).slug == "honda-motor"
    assert BrandSlugHistory.objects.filter(brand=brand, slug="honda").exists()


def test_brand_names_are_unique_whatever_their_case_and_accents(staff_client):
    from django.db import IntegrityError, transaction

    from carsales.catalog.services import brand_create

    brand_create(name="Škoda")

    response = staff_client.post("/admin/catalog/brand/add/", {"name": "skoda"})

    assert response.context["adminform"].form.errors["name"] == ["A brand named Škoda already exists."]
    with pytest.raises(IntegrityError), transaction.atomic():
        Brand.objects.create(name="SKODA", slug="skoda-by-hand")  # the database refuses it too
    assert Brand.objects.count() == 1


def test_the_admin_lists_and_offers_brands_in_the_order_a_buyer_reads_them(staff_client):
    from carsales.catalog.services import brand_create

    for name in ("Volvo", "Škoda", "Audi", "Seat"):
        brand_create(name=name)
    in_order = ["Audi", "Seat", "Škoda", "Volvo"]

    listed = staff_client.get("/admin/catalog/brand/")
    offered = staff_client.get(
        "/admin/autocomplete/", {"app_label": "catalog", "model_name": "car", "field_name": "brand", "term": ""}
    )

    assert [brand.name for brand in listed.context["cl"].result_list] == in_order
    assert [result["text"] for result in offered.json()["results"]] == in_order


def test_staff_who_may_delete_cars_delete_one_in_the_admin_with_its_price_history_and_vin_report(client):
    from django.contrib.auth.models import Permission

    from carsales.catalog.models import Car, CarVinReport, PriceChange
    from carsales.catalog.services import car_vin_decode
    from carsales.conftest import CarFactory, UserFactory

    kept, deleted = CarFactory(), CarFactory(vin="1HGCM82633A004352")
    car_vin_decode(car_id=deleted.pk, vin=deleted.vin)
    member = UserFactory(is_staff=True)
    member.user_permissions.add(*Permission.objects.filter(codename__in=["view_car", "delete_car"]))
    client.force_login(member)

    asked = client.get(f"/admin/catalog/car/{deleted.pk}/delete/")
    done = client.post(f"/admin/catalog/car/{deleted.pk}/delete/", {"post": "yes"})

    assert asked.status_code == 200 and "Are you sure" in asked.content.decode()
    assert done.status_code == 302 and not Car.objects.filter(pk=deleted.pk).exists()
    assert not PriceChange.objects.filter(car_id=deleted.pk).exists()
    assert not CarVinReport.objects.filter(car_id=deleted.pk).exists()
    assert PriceChange.objects.filter(car=kept).exists()


def test_staff_forget_a_brands_old_slugs_in_the_admin_one_or_several_at_once(staff_client):
    from carsales.catalog.services import brand_create, brand_rename

    brand = brand_create(name="Honda")
    for name in ("Honda Motor", "Honda Motor Co", "Honda Cars"):
        brand = brand_rename(brand=brand, name=name)
    first, *others = BrandSlugHistory.objects.order_by("pk")

    forgotten = staff_client.post(f"/admin/catalog/brandslughistory/{first.pk}/delete/", {"post": "yes"})
    assert forgotten.url == "/admin/catalog/brandslughistory/"  # back to the list
    chosen = {"action": "delete_selected", "_selected_action": [old.pk for old in others], "post": "yes"}
    staff_client.post("/admin/catalog/brandslughistory/", chosen)

    assert not BrandSlugHistory.objects.exists()
    assert brand_create(name="Honda").slug == "honda"  # forgotten: free for a brand of its own
