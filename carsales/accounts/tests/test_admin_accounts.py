"""The admin's user pages: an account other apps keep a record of is deactivated, not deleted."""

import pytest

from carsales.conftest import CarFactory, UserFactory, order_for

pytestmark = pytest.mark.django_db


def test_deleting_an_account_with_orders_says_what_keeps_it_and_to_deactivate_it(staff_client):
    buyer = UserFactory(username="ana")
    order_for(CarFactory(), user=buyer)
    free = UserFactory(username="bea")

    asked = staff_client.get(f"/admin/auth/user/{buyer.pk}/delete/", follow=True)
    posted = staff_client.post(f"/admin/auth/user/{buyer.pk}/delete/", {"post": "yes"}, follow=True)

    for response in (asked, posted):
        assert response.redirect_chain == [(f"/admin/auth/user/{buyer.pk}/change/", 302)]
        said = " ".join(str(message) for message in response.context["messages"])
        assert "The account ana cannot be deleted: their order records must be kept. Deactivate it instead" in said
    buyer.refresh_from_db()
    assert buyer.is_active
    assert staff_client.get(f"/admin/auth/user/{free.pk}/delete/").status_code == 200  # nothing keeps it
    staff_client.post(f"/admin/auth/user/{free.pk}/delete/", {"post": "yes"})
    assert not type(free).objects.filter(pk=free.pk).exists()
