"""The staff groups, kept after every `migrate` (permissions only exist once migrations ran).

- Salesperson: sees the catalogue, inventory and sales, and runs the order flow (marks orders
  paid, cancels them); cannot change cars, brands or sales, nor see the operations pages.
- Manager: every permission of carsales' own apps, the durable events and the log-in
  lock-outs; the admin's user management stays with superusers.
"""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

SALESPERSON = "Salesperson"
MANAGER = "Manager"

SALESPERSON_PERMISSIONS = [
    "catalog.view_car",
    "catalog.view_brand",
    "orders.view_order",
    "orders.change_order",
    "sales.view_sale",
    "inventory.view_carinventory",
    "analytics.view_dailysales",
]
MANAGER_APPS = [
    "catalog",
    "orders",
    "sales",
    "inventory",
    "analytics",
    "audit",
    "notifications",
    "core",
    "events",
    "axes",
    "accounts",
]


def _permissions(names: list[str]) -> Any:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(query)


def staff_groups_ensure(**kwargs: Any) -> None:
    """Create the two groups and give them their permissions (a post_migrate receiver).

    Idempotent, and only adds: a permission staff took away from a group in the admin comes
    back at the next migrate. Written in bulk, like Django's own permissions: setting up the
    framework's rows sends no model signal to the project's receivers.
    """
    wanted = {
        SALESPERSON: _permissions(SALESPERSON_PERMISSIONS),
        MANAGER: Permission.objects.filter(content_type__app_label__in=MANAGER_APPS),
    }
    Group.objects.bulk_create([Group(name=name) for name in wanted], ignore_conflicts=True)
    groups = dict(Group.objects.filter(name__in=wanted).values_list("name", "pk"))
    granted = Group.permissions.through
    granted.objects.bulk_create(
        [
            granted(group_id=groups[name], permission_id=permission)
            for name, permissions in wanted.items()
            for permission in permissions.values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
    )
