from typing import Any

from django import forms

from carsales.orders.models import VoidReason, void_reason_label

from .services import VOID_NOTE_LENGTH


class SaleVoidForm(forms.Form):
    """Why staff void a sale: the buyer's email says the reason; the note stays with staff."""

    reason = forms.ChoiceField(
        label="Reason",
        choices=(),  # said for the sale's number of cars (__init__)
        help_text=(
            "The buyer's email and order page give this reason in their words; for another reason, they are told "
            "only that the sale was cancelled, and to reply if it surprises them."
        ),
    )
    note = forms.CharField(
        label="Note for staff",
        required=False,
        max_length=VOID_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept on the order and in the audit log; the buyer does not see it.",
    )

    def __init__(self, *args: Any, cars: int | None = None, **kwargs: Any) -> None:
        # `cars`: the sale's number of cars; None (the admin's action, on any number of sales): several.
        super().__init__(*args, **kwargs)
        reasons = [(reason, void_reason_label(reason, cars=cars)) for reason in VoidReason.values]
        self.fields["reason"].choices = [("", "Choose why the sale is voided"), *reasons]  # type: ignore[attr-defined]
