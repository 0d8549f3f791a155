from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods

from carsales.core.gone import DeletedMeanwhile
from carsales.core.permissions import staff_required
from carsales.orders.models import Order, back_on_sale

from .forms import SaleVoidForm
from .selectors import sale_list
from .services import sale_void


@staff_required("sales.delete_sale")
@require_http_methods(["GET", "POST"])
def sale_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Asked first (GET), with why: voiding puts the cars back on sale, tells the buyer by email and
    owes them a refund if their payment went through; nothing undoes it."""
    sale = sale_list().filter(pk=pk).first()
    if sale is None:
        return _voided_already(request, sale_id=pk)
    order = sale.order
    form = SaleVoidForm(request.POST if request.method == "POST" else None, cars=order.total)
    if not form.is_valid():
        context = {
            "sale": sale,
            "order": order,
            "form": form,
            "order_named": _ORDER_OF_SALE.sign(f"{sale.pk}:{order.pk}"),
        }
        return render(request, "sales/sale_confirm_void.html", context)
    try:
        sale_void(sale=sale, actor=request.user, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"])
    except DeletedMeanwhile:  # voided by someone else since this request found it
        return _voided_already(request, sale_id=pk)
    messages.success(request, f"The sale of order #{order.pk} is voided; {back_on_sale(order.total)}.")
    return redirect(order)


def _voided_already(request: HttpRequest, *, sale_id: int) -> HttpResponse:
    voided = _order_voided_meanwhile(request, sale_id=sale_id)
    if voided is None:
        raise Http404("No such sale.")
    when = date_format(timezone.localtime(voided.voided_at), "DATETIME_FORMAT")
    messages.info(request, f"The sale of order #{voided.pk} was voided already on {when}: nothing changed.")
    return redirect(voided)


# The page names the order whose sale it voids, signed with the sale: a sale voided is deleted,
# and a post naming another order (typed, or from another sale's page) must not be told of that one.
_ORDER_OF_SALE = signing.Signer(salt="carsales.sales.void.order-of-sale")


def _order_voided_meanwhile(request: HttpRequest, *, sale_id: int) -> Order | None:
    """The order a void form posted for sale `sale_id` (a sale voided meanwhile, in another tab or
    before Back, is no sale any more), when its sale is voided now."""
    try:
        named_sale, order_id = (int(part) for part in _ORDER_OF_SALE.unsign(request.POST.get("order", "")).split(":"))
    except (signing.BadSignature, ValueError):
        return None
    if named_sale != sale_id:
        return None
    return Order.objects.filter(pk=order_id, is_active=False, voided_at__isnull=False).first()
