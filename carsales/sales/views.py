from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from carsales.core.permissions import staff_required
from carsales.orders.models import back_on_sale

from .forms import SaleVoidForm
from .selectors import sale_list
from .services import sale_void


@staff_required("sales.delete_sale")
@require_http_methods(["GET", "POST"])
def sale_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Asked first (GET), with why: voiding puts the cars back on sale, tells the buyer by email and
    owes them a refund if their payment went through; nothing undoes it."""
    sale = get_object_or_404(sale_list(), pk=pk)
    order = sale.order
    form = SaleVoidForm(request.POST if request.method == "POST" else None, cars=order.total)
    if not form.is_valid():
        return render(request, "sales/sale_confirm_void.html", {"sale": sale, "order": order, "form": form})
    sale_void(sale=sale, actor=request.user, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"])
    messages.success(request, f"The sale of order #{order.pk} is voided; {back_on_sale(order.total)}.")
    return redirect(order)
