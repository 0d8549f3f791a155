from django import forms

from .models import PAYMENT_REFERENCE_LENGTH, PaymentMethod, payment_reference_as_stored, validate_payment_reference


class _ReferenceGiven(forms.Form):
    """A form asking for a payment's or a refund's `reference`: kept as the order keeps it."""

    def clean_reference(self) -> str:
        reference = payment_reference_as_stored(self.cleaned_data["reference"])
        validate_payment_reference(reference)
        return reference


class PaymentForm(_ReferenceGiven):
    """How the buyer paid, as staff record it: the buyer's receipt and the audit log say it."""

    method = forms.ChoiceField(
        label="Paid by",
        choices=[("", "Choose how the buyer paid"), *PaymentMethod.choices],
        error_messages={"required": "Choose how the buyer paid."},
    )
    reference = forms.CharField(
        label="Payment reference",
        required=False,
        max_length=PAYMENT_REFERENCE_LENGTH,
        help_text="The transfer's or card slip's reference, the finance contract's number: what finds the money.",
    )


class PaymentsForm(PaymentForm):
    """How the buyers of several orders paid, asked once: one method for all, and no reference,
    which names one payment."""

    def clean_reference(self) -> str:
        reference = super().clean_reference()
        if reference:
            raise forms.ValidationError(
                "A reference names one payment: mark the orders paid one at a time to give each its own."
            )
        return reference


class RefundForm(_ReferenceGiven):
    """The refund of a voided sale's payment, as staff record it: the buyer's email and the audit log say it."""

    reference = forms.CharField(
        label="Refund reference",
        required=False,
        max_length=PAYMENT_REFERENCE_LENGTH,
        help_text="The refund transfer's or card slip's reference: what the buyer quotes to find it.",
    )
