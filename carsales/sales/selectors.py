from django.db.models import QuerySet

from .models import Sale


def sale_list() -> QuerySet[Sale]:
    return Sale.objects.select_related("order__buyer__user")
