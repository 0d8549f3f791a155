"""Access rules for the site's own pages and the API (the admin keeps its own): staff powers
follow Django's permissions and groups, as the admin does.

Each staff page and operation names the permission it needs ("catalog.add_car"); a member of
staff without it gets the 403 page, whatever `is_staff` says. The groups "Salesperson" and
"Manager" (carsales.core.groups) bundle the usual ones.
"""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from rest_framework import permissions

View = Callable[..., HttpResponseBase]


def has_staff_power(user: Any, perms: Iterable[str]) -> bool:
    """An active member of staff holding every one of `perms` (a superuser holds all)."""
    return bool(user and user.is_active and user.is_staff and user.has_perms(list(perms)))


def staff_required(*perms: str) -> Callable[[View], View]:
    """Let active staff holding `perms` through; send a visitor to the site's login and refuse
    anyone else with the 403 page.

    Unlike the admin's `staff_member_required`, a logged-in buyer gets the site's 403 page rather
    than the admin's login form, which would only invite them to log in as somebody else.
    """
    if not perms:
        raise TypeError("Name the permission a staff page needs, e.g. staff_required('catalog.add_car').")

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_staff_power(request.user, perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def staff_with(*perms: str) -> type[permissions.BasePermission]:
    """The DRF permission of an API operation for active staff holding `perms`."""

    class StaffWith(permissions.BasePermission):
        def has_permission(self, request: Any, view: Any) -> bool:
            return has_staff_power(request.user, perms)

    StaffWith.__name__ = StaffWith.__qualname__ = f"StaffWith({', '.join(perms)})"
    return StaffWith


class ModelPermissionsOrReadOnly(permissions.DjangoModelPermissionsOrAnonReadOnly):
    """Reads for everyone; a write needs the model's add, change or delete permission (staff)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_staff) and super().has_permission(request, view)
