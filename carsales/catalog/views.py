from collections.abc import Collection
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from carsales.core.decorators import posted_else_back_to
from carsales.core.pagination import page_of
from carsales.core.permissions import staff_required

from .exports import car_csv_lines
from .facts import reader_kind, sees_stock_details
from .filters import CarFilterSet
from .forms import BrandForm, CarEditForm, CarForm
from .models import Brand, Car, CarPhoto, CarStatus
from .pages import (
    CSRF_TOKEN_SLOT,
    cacheable_query,
    catalogue_cached,
    catalogue_version,
    shared_with_anyone,
    with_own_token,
)
from .selectors import (
    brand_slug_renamed,
    brands_with_car_count,
    car_catalogue,
    car_gallery,
    car_notes_for,
    car_opens_for,
    car_price_history,
    car_shown,
    car_similar,
    car_vin_report_for,
    price_dropped_from,
    with_gallery_leads,
)
from .services import (
    BrandInUse,
    CarInUse,
    StockError,
    brand_create,
    brand_delete,
    brand_delete_refusal,
    car_create,
    car_delete,
    car_delete_refusal,
    car_photo_delete,
    car_photo_make_cover,
    car_photo_move,
    car_photos_add,
    car_update,
    cars_relist,
    cars_withdraw,
)

PAGE_SIZES = (12, 24, 48)


def _page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("per_page", PAGE_SIZES[0]))
    except ValueError:
        return PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


# What the catalogue page reads from its query: a page for any other query is not cached.
CATALOGUE_PARAMETERS = frozenset([*CarFilterSet.base_filters, "page", "per_page"])


# One address, several bodies (the page, its results, the page again for a history restore): a
# browser must not cache one for another.
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def car_list_view(request: HttpRequest) -> HttpResponse:
    reader = reader_kind(request.user)
    stock_staff = reader == "stock"
    # htmx swaps only the results when the filters change; restoring history (back, after the
    # browser dropped its snapshot) asks for the whole page.
    htmx = request.htmx and not request.htmx.history_restore_request  # type: ignore[attr-defined]
    fragment = "catalog/_car_results.html" if htmx else "catalog/_catalogue.html"
    moved_to: list[str] = []

    def render_catalogue() -> str | None:
        cars = car_catalogue(include_unavailable=reader != "public")  # staff's narrowed by CarFilterSet
        filterset = CarFilterSet(request.GET or None, queryset=cars, request=request)
        renamed = brand_slug_renamed(slug=request.GET["brand"]) if "brand" in filterset.form.errors else None
        if renamed:
            query = request.GET.copy()
            query["brand"] = renamed
            moved_to.append(f"{request.path}?{query.urlencode()}")
            return None
        page = page_of(filterset.qs, _page_size(request), request.GET.get("page"))
        page.object_list = with_gallery_leads(page.object_list)
        # Whether a filter chose the cars (an empty page then says so); ordering and paging choose none.
        chosen = getattr(filterset.form, "cleaned_data", {})
        used = {name for name, value in chosen.items() if name != "ordering" and value not in (None, "")}
        filtered = bool(filterset.form.errors) or bool(used)
        context = {
            "form": filterset.form,
            "filtered": filtered,
            "searched_only": used == {"q"},  # "fewer filters" would be no advice
            "search": filterset.search_outcome,
            "page": page,
            "page_sizes": PAGE_SIZES,
            "stock_staff": stock_staff,
            "results_only": htmx,  # swapped into the page: the count for screen readers goes with them
        }
        return render_to_string(fragment, context, request=request)

    def render_page(viewer: Any = None) -> str | None:
        catalogue = catalogue_cached("catalogue", fragment, reader, query, render=render_catalogue, version=version)
        if catalogue is None:
            return None
        context = {"catalogue": mark_safe(catalogue), "csrf_token": CSRF_TOKEN_SLOT}  # rendered, escaped
        return render_to_string(
            "catalog/car_list.html", context | ({"user": viewer} if viewer else {}), request=request
        )

    query = cacheable_query(request.GET, known=CATALOGUE_PARAMETERS, sent=request.META.get("QUERY_STRING", ""))
    version = catalogue_version(request)
    if htmx:
        catalogue = catalogue_cached("catalogue", fragment, reader, query, render=render_catalogue, version=version)
        if catalogue is None:
            return redirect(moved_to[0], permanent=True)
        shared = not request.user.is_authenticated and query is not None  # the results every visitor gets
        return shared_with_anyone(HttpResponse(catalogue), version) if shared else HttpResponse(catalogue)
    # An anonymous visitor gets the page every such visitor gets, whole, but for its own CSRF token;
    # a signed-in buyer the page every buyer gets, but for its own name and token. Each is kept per
    # number of cars in the viewer's cart, which the header shows.
    shared, held = _sees_shared_page(request), len(_cart_car_ids(request))
    if shared:
        page = catalogue_cached("catalogue page", stock_staff, query, held, render=render_page, version=version)
    elif _sees_buyers_page(request):
        page = catalogue_cached(
            "catalogue page, a buyer",
            stock_staff,
            query,
            held,
            render=lambda: render_page(_AnyBuyer()),
            version=version,
        )
    else:
        page = render_page()
    if page is None:
        # A link made before the brand was renamed: moved for good, to the same search.
        return redirect(moved_to[0], permanent=True)
    response = HttpResponse(with_own_token(_with_own_name(page, request), request))
    return shared_with_anyone(response, version) if shared and query is not None else response


def _sees_shared_page(request: HttpRequest) -> bool:
    """Anonymous, with no message waiting: such a visitor (a first visit, or one back with a
    cart) gets the page every such visitor gets, its own parts put in per request."""
    return not request.user.is_authenticated and not len(get_messages(request))


def _sees_buyers_page(request: HttpRequest) -> bool:
    """Signed in, not staff, with no message waiting: the header such a visitor sees differs from
    another buyer's by the name in it, put in per request with the token (staff headers list their tools)."""
    return request.user.is_authenticated and not request.user.is_staff and not len(get_messages(request))


# Where a page laid out for every signed-in buyer takes each one's username and the name it greets
# them by (derived as CSRF_TOKEN_SLOT is).
USERNAME_SLOT = "username-slot-" + salted_hmac("catalog.username-slot", "").hexdigest()[:20]
FIRST_NAME_SLOT = "first-name-slot-" + salted_hmac("catalog.first-name-slot", "").hexdigest()[:20]


class _AnyBuyer:
    """Who a page laid out for every signed-in buyer is rendered for: signed in, not staff, named by slots."""

    is_authenticated, is_anonymous, is_staff, is_superuser = True, False, False, False
    first_name = FIRST_NAME_SLOT  # the header greets by first name, else by username: both put in per request

    def get_username(self) -> str:
        return USERNAME_SLOT


def _cart_car_ids(request: HttpRequest) -> Collection[int]:
    """The ids of the cars in the viewer's cart, which orders' CartMiddleware reads on first use
    (the catalogue does not import orders); none without it."""
    return getattr(request, "cart_car_ids", ())


def _with_own_name(page: str, request: HttpRequest) -> str:
    # Only a signed-in visitor's page can hold the slots: an anonymous one's is not searched for them.
    user = request.user
    if not user.is_authenticated:
        return page
    username = escape(user.get_username())
    return page.replace(FIRST_NAME_SLOT, escape(user.first_name) or username).replace(USERNAME_SLOT, username)


def _notes_html(car: Car, user: Any) -> str:
    """What other apps say about `car` to `user` (car_page_notes), rendered."""
    notes = car_notes_for(car=car, user=user)
    if not notes and car.status != CarStatus.SOLD:
        return ""  # what the template renders then, at a tenth of a cached page's cost
    return render_to_string("catalog/_car_notes.html", {"car": car, "notes": notes})


@staff_required("catalog.change_car")  # full plates, VINs and withdrawn cars: stock staff, as on the page
@require_http_methods(["GET"])
def car_export_view(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The cars the catalogue shows staff with these filters, as CSV, streamed. A filter refused
    is a 400 saying why (the page says it beside the filter): never every car, unannounced."""
    filterset = CarFilterSet(request.GET or None, queryset=car_catalogue(include_unavailable=True), request=request)
    if filterset.form.errors:
        refused = "; ".join(
            f"{filterset.form.fields[name].label if name in filterset.form.fields else 'Filters'}: {' '.join(errors)}"
            for name, errors in filterset.form.errors.items()
        )
        return HttpResponse(f"Nothing exported: {refused}", status=400, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(car_csv_lines(filterset.qs), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cars-{date.today().isoformat()}.csv"'
    return response


def car_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A car's page. Its body is the same for every viewer who is not staff: cached by the
    catalogue's version with the car it shows. With no message waiting, the whole page is cached
    too: one for every anonymous visitor, one for every signed-in buyer (their header differs by
    the name in it). What is each viewer's own is put in per request: the name, the CSRF token and
    the notes other apps have for it (car_page_notes, asked per request). What the viewer's cart
    holds is no one's own: the body is kept per car in the cart or not, the page also per number
    of cars in it (the header's count), each the same for every viewer whose cart agrees. A
    visitor bringing no cookie gets the response every such visitor gets, replayed whole with a
    token of its own (SharedResponsesMiddleware): their cart is empty. Staff get the page
    rendered for them, as does a visitor with a message waiting."""
    cart = _cart_car_ids(request)
    in_cart = pk in cart
    if request.user.is_staff:
        shown = _car_body(request, pk, notes_for=request.user, in_cart=in_cart)
        if shown is None:
            raise Http404("This car is not on sale.")
        return HttpResponse(_car_layout(request, *shown))
    version = catalogue_version(request)

    def shared_body() -> tuple[Car, str] | None:
        return catalogue_cached(
            "car body",
            pk,
            in_cart,
            render=lambda: _car_body(request, pk, notes_for=None, in_cart=in_cart),
            version=version,
        )

    def shared_page() -> tuple[Car, str] | None:
        body = shared_body()
        return None if body is None else (body[0], _car_layout(request, *body))

    def buyers_page() -> tuple[Car, str] | None:
        body = shared_body()
        return None if body is None else (body[0], _car_layout(request, *body, viewer=_AnyBuyer()))

    shared = _sees_shared_page(request)
    if shared:
        shown = catalogue_cached("car page", pk, len(cart), in_cart, render=shared_page, version=version)
    elif _sees_buyers_page(request):
        shown = catalogue_cached("car page, a buyer", pk, len(cart), in_cart, render=buyers_page, version=version)
    else:
        shown = shared_page()
    if shown is None:
        raise Http404("This car is not on sale.")
    car, page = shown
    page = page.replace(CAR_NOTES_SLOT, _notes_html(car, request.user))
    response = HttpResponse(with_own_token(_with_own_name(page, request), request))
    # An anonymous viewer's notes follow from the car as stored (car_page_notes): anyone's. Kept
    # for its own address only: a copy per made-up query (?fbclid=...) would fill the cache.
    return shared_with_anyone(response, version) if shared and not request.GET else response


# Where a car page rendered for many visitors takes each one's notes (derived as CSRF_TOKEN_SLOT is).
CAR_NOTES_SLOT = "car-notes-slot-" + salted_hmac("catalog.car-notes-slot", "").hexdigest()[:20]


def _car_body(request: HttpRequest, pk: int, *, notes_for: Any, in_cart: bool) -> tuple[Car, str] | None:
    """The car and its page's body for this viewer; for `notes_for` None, the body every viewer
    who is not staff gets, with slots for the notes and the CSRF token. `in_cart`: the car is in
    the viewer's cart (said in place of "Add to cart"). None: no such car, or off sale to this
    viewer."""
    # A sold car keeps its page (links and bookmarks to it live on) and points to others.
    car = car_shown(pk=pk)
    stock_staff = sees_stock_details(request.user)
    if car is None or not car_opens_for(car, request.user):
        return None  # off sale: its page is for staff only
    price_history = car_price_history(car=car)
    car.price_dropped_from = price_dropped_from(price_history)  # type: ignore[attr-defined]  # as with_price_drop
    user: Any
    if notes_for is None:
        notes_html, user, token = CAR_NOTES_SLOT, AnonymousUser(), CSRF_TOKEN_SLOT
    else:
        notes_html, user, token = _notes_html(car, notes_for), request.user, None
    # A car no one can order now points to others: sold, or reserved (its note links here, #similar).
    offers_others = car.status in (CarStatus.SOLD, CarStatus.RESERVED)
    similar = with_gallery_leads(car_similar(car=car)) if offers_others else []
    context = {
        "car": car,
        "similar": similar,
        "offers_others": offers_others,
        "notes_html": mark_safe(notes_html),  # rendered, escaped
        "vin_report": car_vin_report_for(car=car, user=user),
        "price_history": price_history,
        "slides": car_gallery(car=car),
        "stock_staff": stock_staff,
        "in_cart": in_cart,
        **({"csrf_token": token} if token else {}),
    }
    return car, render_to_string("catalog/_car_page.html", context, request=request)


def _car_layout(request: HttpRequest, car: Car, body: str, *, viewer: Any = None) -> str:
    """The page around a car's body: the site's header for this viewer (or for `viewer`, with
    slots for the name and the token), its messages."""
    context = {"car": car, "body": mark_safe(body)}
    if viewer is not None:
        context |= {"user": viewer, "csrf_token": CSRF_TOKEN_SLOT}
    return render_to_string("catalog/car_detail.html", context, request=request)


def _apply_validation_error(form: forms.BaseForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
    if isinstance(form, CarForm):
        form.ask_for_the_photo_again()


@staff_required("catalog.add_car")
@require_http_methods(["GET", "POST"])
def car_create_view(request: HttpRequest) -> HttpResponse:
    form = CarForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            car = car_create(**form.cleaned_data)
        except ValidationError as error:
            _apply_validation_error(form, error)
        else:
            messages.success(request, f"{car} is in the catalogue with stock code {car.stock_code}.")
            return redirect(car)
    return render(request, "catalog/car_form.html", {"form": form, "title": "Add a car"})


@staff_required("catalog.change_car")
@require_http_methods(["GET", "POST"])
def car_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    car = get_object_or_404(Car.objects.with_brand(), pk=pk)
    title = f"Edit {car}"  # the car as stored: validating a form writes its values onto `car`
    form = CarEditForm(request.POST or None, request.FILES or None, instance=car)
    if request.method == "POST" and form.is_valid():
        if form.clashes:
            form.ask_about_clashes()
            form.ask_for_the_photo_again()
        else:
            try:
                car = car_update(car=car, **{name: form.cleaned_data[name] for name in form.mine})
            except ValidationError as error:
                _apply_validation_error(form, error)
            else:
                messages.success(request, f"{car} was updated.")
                return redirect(car)
    return render(request, "catalog/car_form.html", {"form": form, "title": title, "car": car})


@staff_required("catalog.delete_car")
@require_http_methods(["GET", "POST"])
def car_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    car = get_object_or_404(Car.objects.with_brand(), pk=pk)
    if request.method == "POST":
        try:
            car_delete(car=car)
        except CarInUse as refusal:
            messages.error(request, str(refusal))
            return redirect(car)
        messages.success(request, f"{car} was deleted.")
        return redirect("catalog:car_list")
    return render(request, "catalog/car_confirm_delete.html", {"car": car, "refusal": car_delete_refusal(car=car)})


def _switch(request: HttpRequest, pk: int, transition: Any, done: str) -> HttpResponse:
    car = get_object_or_404(Car.objects.with_brand(), pk=pk)
    try:
        transition(car_ids=[car.pk])
    except StockError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{car} {done}.")
    return redirect(car)


@staff_required("catalog.change_car")  # a log-in it asked for returns here by a GET: to the car's page
@posted_else_back_to(lambda pk: reverse("catalog:car_detail", args=[pk]))
def car_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _switch(request, pk, cars_withdraw, "is withdrawn from sale: visitors no longer see it")


@staff_required("catalog.change_car")
@posted_else_back_to(lambda pk: reverse("catalog:car_detail", args=[pk]))
def car_relist_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _switch(request, pk, cars_relist, "is back on sale")


@staff_required("catalog.change_car")
@require_http_methods(["GET", "POST"])
def car_photos_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff manage a car's gallery: upload several photos at once, reorder, delete, pick the cover."""
    car = get_object_or_404(Car.objects.with_brand(), pk=pk)
    errors: list[str] = []
    if request.method == "POST":
        files = request.FILES.getlist("photos")
        if not files:
            errors.append("Choose one or more photos to upload.")
        else:
            try:
                added = car_photos_add(car=car, files=files)
            except ValidationError as refusal:
                errors = refusal.message_dict.get("photos", refusal.messages)
            else:
                messages.success(request, f"{len(added)} photo{'s' if len(added) != 1 else ''} added to the gallery.")
                return redirect("catalog:car_photos", pk=car.pk)
    slides = car_gallery(car=car)
    photos = [slide.photo for slide in slides if slide.photo is not None]
    context = {
        "car": car,
        "slides": slides,
        "first_photo": photos[0] if photos else None,
        "last_photo": photos[-1] if photos else None,
        "errors": errors,
        "uploaded": len(request.FILES.getlist("photos")),
        "batch": settings.CARSALES_GALLERY_UPLOAD_BATCH,
    }
    return render(request, "catalog/car_photos.html", context, status=400 if errors else 200)


PHOTO_CHANGES = {"delete", "cover", "earlier", "later"}


@staff_required("catalog.change_car")
@require_http_methods(["GET", "POST"])
def car_photo_change_view(request: HttpRequest, pk: int, photo_id: int, change: str) -> HttpResponse:
    """A change of a gallery photo (POST); a deletion, which nothing undoes, is asked first (GET)."""
    if change not in PHOTO_CHANGES:
        raise Http404("No such change of a photo.")
    if request.method == "GET" and change != "delete":
        return HttpResponseNotAllowed(["POST"])
    photo = CarPhoto.objects.select_related("car").filter(pk=photo_id, car_id=pk).first()
    if photo is None:
        if request.method == "GET" or not Car.objects.filter(pk=pk).exists():
            raise Http404("No such photo.")
        # Sent again from a page left open (another tab, Back): said, never a 404.
        messages.info(request, "That photo is no longer in this car's gallery: nothing changed.")
        return redirect("catalog:car_photos", pk=pk)
    if request.method == "GET":
        slide = next(slide for slide in car_gallery(car=photo.car) if slide.photo == photo)
        return render(request, "catalog/car_photo_confirm_delete.html", {"photo": photo, "slide": slide})
    try:
        if change == "delete":
            car_photo_delete(photo=photo)
            messages.success(request, "The photo was deleted.")
        elif change == "cover":
            car_photo_make_cover(photo=photo)
            messages.success(request, "The photo is the cover now.")
        else:
            car_photo_move(photo=photo, by=-1 if change == "earlier" else 1)
            messages.success(request, f"The photo moved {change}.")
            # Back where the moved photo is now: a keyboard carries on from it, not from the top.
            return redirect(f"{reverse('catalog:car_photos', args=[pk])}#photo-{photo.pk}")
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    return redirect("catalog:car_photos", pk=pk)


@staff_required("catalog.add_brand")
@require_http_methods(["GET", "POST"])
def brand_list_view(request: HttpRequest) -> HttpResponse:
    form = BrandForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            brand = brand_create(name=form.cleaned_data["name"])
        except ValidationError as error:
            _apply_validation_error(form, error)
        else:
            messages.success(request, f"Brand {brand} added.")
            return redirect("catalog:brand_list")
    return render(request, "catalog/brand_list.html", {"form": form, "brands": brands_with_car_count()})


@staff_required("catalog.delete_brand")
@require_http_methods(["GET", "POST"])
def brand_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Asked first (GET), saying so when the brand's cars keep it; deleted on POST."""
    brand = get_object_or_404(Brand, pk=pk)
    if request.method == "GET":
        context = {"brand": brand, "refusal": brand_delete_refusal(brand=brand)}
        return render(request, "catalog/brand_confirm_delete.html", context)
    try:
        brand_delete(brand=brand)
    except BrandInUse as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Brand {brand} deleted.")
    return redirect("catalog:brand_list")
