from django import forms

from carsales.orders.models import VoidReason

from .services import VOID_NOTE_LENGTH


class SaleVoidForm(forms.Form):
    """Why staff void a sale: the buyer's email says the reason; the note stays with staff."""

    reason = forms.ChoiceField(
        label="Reason",
        choices=[("", "Choose why the sale is voided"), *VoidReason.choices],
        help_text="Told to the buyer, in their words, by email and on their order page (but for another reason).",
    )
    note = forms.CharField(
        label="Note for staff",
        required=False,
        max_length=VOID_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept on the order and in the audit log; the buyer does not see it.",
    )
