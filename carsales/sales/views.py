from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods

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
        voided = _order_voided_meanwhile(request)
        if voided is None:
            raise Http404("No such sale.")
        when = date_format(timezone.localtime(voided.voided_at), "DATETIME_FORMAT")
        messages.info(request, f"The sale of order #{voided.pk} was voided already on {when}: nothing changed.")
        return redirect(voided)
    order = sale.order
    form = SaleVoidForm(request.POST if request.method == "POST" else None, cars=order.total)
    if not form.is_valid():
        return render(request, "sales/sale_confirm_void.html", {"sale": sale, "order": order, "form": form})
    sale_void(sale=sale, actor=request.user, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"])
    messages.success(request, f"The sale of order #{order.pk} is voided; {back_on_sale(order.total)}.")
    return redirect(order)


def _order_voided_meanwhile(request: HttpRequest) -> Order | None:
    """The order a void form posted for (the page names it: a sale voided meanwhile, in another tab
    or before Back, is no sale any more), when its sale is voided now."""
    try:
        order_id = int(request.POST.get("order", ""))
    except ValueError:
        return None
    return Order.objects.filter(pk=order_id, is_active=False, voided_at__isnull=False).first()
