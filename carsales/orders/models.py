import re
import unicodedata
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from carsales.accounts.models import Buyer
from carsales.catalog.models import Car
from carsales.core.state import StateGuardedModel, StateGuardedQuerySet


class Cart(models.Model):
    """A buyer's cart, or an anonymous visitor's (by session) until they log in."""

    buyer = models.OneToOneField(Buyer, on_delete=models.CASCADE, null=True, blank=True, related_name="cart")
    # A visitor's cart is found through this token in their session; the session key itself
    # changes at login, the session data does not.
    # NULL, not "": a buyer's cart has no token, and the unique constraint admits many NULLs but one "".
    token = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(buyer__isnull=False) | models.Q(token__isnull=False),
                name="cart_has_an_owner",
            ),
            # Not unique=True, which on PostgreSQL adds a LIKE-prefix index no query uses.
            models.UniqueConstraint(fields=["token"], name="cart_token_unique"),
        ]

    def __str__(self) -> str:
        return f"Cart of {self.buyer or 'visitor'}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items", db_index=False)  # car_once_per_cart
    car = models.ForeignKey(Car, on_delete=models.CASCADE, related_name="cart_items")
    added_at = models.DateTimeField(auto_now_add=True)
    # The car's price when it went in the cart (null: unpriced, or added before this was kept), so
    # the cart can say a price changed since; the order is always at the price the buyer confirms.
    price_when_added = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["cart", "car"], name="car_once_per_cart")]

    def __str__(self) -> str:
        return f"{self.car} in {self.cart}"

    @property
    def price_changed_from(self) -> Decimal | None:
        """The price it had when added, if the car is for sale now at another."""
        was = self.price_when_added
        return was if was is not None and self.car.is_for_sale and self.car.value != was else None


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"


class CancellationReason(models.TextChoices):
    STAFF = "staff", "Cancelled by staff"
    BUYER = "buyer", "Cancelled by the buyer"
    EXPIRED = "expired", "Not paid in time"
    EMPTIED = "emptied", "Cancelled: no car was left on it"  # every line removed (order_cancel_emptied)


class PaymentMethod(models.TextChoices):
    """How a buyer paid, as staff record it when marking the order paid (the receipt says it)."""

    TRANSFER = "transfer", "Bank transfer"
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    FINANCING = "financing", "Financing"
    OTHER = "other", "Other"


PAYMENT_REFERENCE_LENGTH = 100
# What a reference may hold: words of printable characters, one space between them. No other space,
# nothing that does not show (a control character, a zero-width one, a bidi control turning the text
# around on the buyer's receipt, a filler, a tag). Spelled out rather than \s, which Python's re
# (SQLite's REGEXP) and PostgreSQL's read differently; validate_payment_reference adds Unicode's
# categories of such characters, which no pattern both engines read can name.
_UNSEEN = (
    r"\x00-\x20\x7f-\xa0\xad\u034f\u061c\u115f\u1160\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f"
    r"\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f"
)
PAYMENT_REFERENCE_PATTERN = rf"\A(?:[^{_UNSEEN}]+(?: [^{_UNSEEN}]+)*)?\Z"
_UNSEEN_CATEGORIES = {"Cc", "Cf", "Co", "Zl", "Zp"}


def payment_reference_as_stored(reference: str) -> str:
    return " ".join(reference.split())


def validate_payment_reference(reference: str) -> None:
    """Refuse a reference the order cannot keep as given, saying why (after payment_reference_as_stored)."""
    if len(reference) > PAYMENT_REFERENCE_LENGTH:
        raise ValidationError(
            f"Keep the reference within {PAYMENT_REFERENCE_LENGTH} characters (it has {len(reference)})."
        )
    unseen = any(unicodedata.category(char) in _UNSEEN_CATEGORIES for char in reference)
    if unseen or not re.match(PAYMENT_REFERENCE_PATTERN, reference):
        raise ValidationError("The reference holds a character that does not show; type it again.")


class VoidReason(models.TextChoices):
    """Why staff voided a paid order's sale (labels in staff's words): the audit log keeps it,
    the buyer is told it in theirs (VOID_TOLD_BUYER)."""

    RETURNED = "returned", "The buyer returned the cars"
    PAYMENT = "payment", "The payment failed or was reversed"
    ERROR = "error", "The sale was recorded in error"
    OTHER = "other", "Another reason"


def cars_word(count: int | None) -> str:
    """ "car" for one, else "cars" (None: a number not known, said for several)."""
    return "car" if count == 1 else "cars"


def back_on_sale(count: int) -> str:
    """What became of an order's cars once it no longer holds them: "its car is back on sale"."""
    return f"its {'car is' if count == 1 else 'cars are'} back on sale"


def void_reason_label(reason: str, *, cars: int | None) -> str:
    """A VoidReason's label for a sale of this many `cars` (None: not known, said for several)."""
    return VOID_SAID_TO_STAFF.get(VoidReason(reason), VoidReason(reason).label).format(cars=cars_word(cars))


# The labels that name the cars, for the sale's number of them; the rest as they are.
VOID_SAID_TO_STAFF = {VoidReason.RETURNED: "The buyer returned the {cars}"}


# Every state an order is in (Order.state) in staff's words, as state_label says them and staff
# filter by them: its status while its sale stands (a voided order's status stays the one it had).
ORDER_STATE_NAMES = {
    **dict(OrderStatus.choices),
    "voided": "Voided",
    "refund_owed": "Voided, refund owed",
    "refund_to_check": "Voided in error, refund to check",
    "refunded": "Voided, refunded",
}

# What the buyer's email and order page say of each reason; another reason is not told.
VOID_TOLD_BUYER = {
    VoidReason.RETURNED: "you returned the {cars}",
    VoidReason.PAYMENT: "your payment did not reach us or was reversed",
    VoidReason.ERROR: "the sale was recorded by mistake",
}


class OrderQuerySet(StateGuardedQuerySet):
    pass


class Order(StateGuardedModel):
    # Annotated by the selectors finding the order that holds a car (order_holding_car,
    # order_holding): the price its line holds that car at. No column.
    line_price: Decimal

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="orders")
    cars: "models.ManyToManyField[Car, OrderItem]" = models.ManyToManyField(
        Car, through="OrderItem", related_name="orders"
    )
    # Written only by the transitions in orders.services (STATE_FIELDS); read-only everywhere else.
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED, editable=False)
    is_active = models.BooleanField(default=True, editable=False, help_text="Cleared when the order's sale is voided.")
    voided_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Given by whoever voided the sale; blank when a path that asks none (a shell) voided it.
    void_reason = models.CharField(max_length=16, choices=VoidReason.choices, blank=True, editable=False)
    void_note = models.CharField(max_length=500, blank=True, editable=False, help_text="For staff only.")
    # Kept by the m2m_changed receiver and order_totals_refresh; never typed in by hand.
    total = models.PositiveIntegerField(default=0, editable=False, help_text="Number of cars.")
    total_price = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"), editable=False)
    placed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Given by whoever marked it paid; blank when a path that asks none (a shell) did.
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices, blank=True, editable=False)
    payment_reference = models.CharField(
        max_length=PAYMENT_REFERENCE_LENGTH, blank=True, editable=False,
        help_text="The transfer's or card slip's reference, the finance contract's number: what finds the money.",
    )  # fmt: skip
    # When staff recorded the refund a voided sale owed its buyer, and the refund's own reference.
    refunded_at = models.DateTimeField(null=True, blank=True, editable=False)
    refund_reference = models.CharField(
        max_length=PAYMENT_REFERENCE_LENGTH, blank=True, editable=False,
        help_text="The refund's transfer or card slip reference: what the buyer quotes to find it.",
    )  # fmt: skip
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancellation_reason = models.CharField(
        max_length=16, choices=CancellationReason.choices, blank=True, editable=False
    )
    # The reservation's deadline: unpaid by then, the order is cancelled and its cars released.
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = OrderQuerySet.as_manager()

    CREATED_BY = "orders.services.order_place"
    STATE_FIELDS = (
        "buyer",  # whose reservation it is, and whose hold limit counts it: never moved
        "status",
        "is_active",
        "paid_at",
        "payment_method",
        "payment_reference",
        "cancelled_at",
        "voided_at",
        "void_reason",
        "void_note",
        "refunded_at",
        "refund_reference",
        "cancellation_reason",
        "expires_at",
        "total",
        "total_price",
    )

    class Meta:
        ordering = ["-placed_at", "-id"]
        base_manager_name = "objects"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status=OrderStatus.PAID, paid_at__isnull=False)
                | (~models.Q(status=OrderStatus.PAID) & models.Q(paid_at__isnull=True)),
                name="order_paid_at_iff_paid",
            ),
            models.CheckConstraint(
                condition=models.Q(status=OrderStatus.CANCELLED, cancelled_at__isnull=False)
                | (~models.Q(status=OrderStatus.CANCELLED) & models.Q(cancelled_at__isnull=True)),
                name="order_cancelled_at_iff_cancelled",
            ),
            # Only a paid order is ever deactivated (its sale voided).
            models.CheckConstraint(
                condition=models.Q(is_active=True) | models.Q(status=OrderStatus.PAID),
                name="order_inactive_only_if_paid",
            ),
            models.CheckConstraint(
                condition=models.Q(is_active=False) | models.Q(void_reason="", void_note=""),
                name="order_void_reason_only_if_voided",
            ),
            models.CheckConstraint(
                condition=models.Q(status=OrderStatus.PAID) | models.Q(payment_method="", payment_reference=""),
                name="order_payment_only_if_paid",
            ),
            models.CheckConstraint(
                condition=models.Q(payment_method__in=["", *PaymentMethod.values]), name="order_payment_method_known"
            ),
            # As order_mark_paid stores it, on SQLite (no length limit of its own) too.
            models.CheckConstraint(
                condition=models.Q(
                    LessThanOrEqual(Length("payment_reference"), PAYMENT_REFERENCE_LENGTH),
                    payment_reference__regex=PAYMENT_REFERENCE_PATTERN,
                ),
                name="order_payment_reference_as_stored",
            ),
            # A refund only for a voided sale whose payment stood (not one that failed or was reversed).
            models.CheckConstraint(
                condition=models.Q(refunded_at__isnull=True)
                | (models.Q(is_active=False) & ~models.Q(void_reason=VoidReason.PAYMENT)),
                name="order_refund_only_if_voided_with_a_payment",
            ),
            models.CheckConstraint(
                condition=models.Q(refunded_at__isnull=False) | models.Q(refund_reference=""),
                name="order_refund_reference_only_if_refunded",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    LessThanOrEqual(Length("refund_reference"), PAYMENT_REFERENCE_LENGTH),
                    refund_reference__regex=PAYMENT_REFERENCE_PATTERN,
                ),
                name="order_refund_reference_as_stored",
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("orders:order_detail", kwargs={"pk": self.pk})

    @property
    def refund_owed(self) -> bool | None:
        """Whether a voided sale's payment goes back to its buyer: not when it never stood (it
        failed or was reversed); None, not known, for a sale recorded in error, which may have
        had no payment at all."""
        if self.void_reason == VoidReason.PAYMENT:
            return False
        return None if self.void_reason == VoidReason.ERROR else True

    @property
    def awaits_refund(self) -> bool:
        """Voided, its payment owed back, no refund recorded yet: what staff still have to pay back."""
        return not self.is_active and self.refund_owed is True and self.refunded_at is None

    @property
    def refund_recordable(self) -> bool:
        """Voided, a payment that may have stood (owed back, or not known for a sale recorded in
        error), no refund recorded yet: staff may record one."""
        return self.refund_refused_because is None

    @property
    def refund_refused_because(self) -> str | None:
        """Why no refund may be recorded for the order, in a sentence; None when one may."""
        if self.is_active:
            return f"Order #{self.pk}'s sale stands; void it before recording a refund."
        if self.refund_owed is False:
            return f"Order #{self.pk}'s payment failed or was reversed: no refund is owed."
        if self.refunded_at is not None:
            made = date_format(timezone.localtime(self.refunded_at), "DATETIME_FORMAT")
            reference = f" with reference {self.refund_reference}" if self.refund_reference else ""
            return f"Order #{self.pk}'s refund was recorded already on {made}{reference}: nothing changed."
        return None

    @property
    def state(self) -> str:
        """Its state as ORDER_STATE_NAMES names it: its status while its sale stands; once voided,
        whether the refund is owed, recorded or to check (a sale recorded in error may have had no payment)."""
        if self.is_active:
            return str(self.status)
        if self.refunded_at is not None:
            return "refunded"
        if self.awaits_refund:
            return "refund_owed"
        return "refund_to_check" if self.refund_recordable else "voided"

    @property
    def state_label(self) -> str:
        """Its state in staff's words."""
        return ORDER_STATE_NAMES[self.state]

    @property
    def kept_because(self) -> str | None:
        """What must happen before the order may be deleted, or None: a live one is cancelled (or
        its sale voided); a voided one owing a refund is the record of that debt."""
        if self.holds_cars:
            return "cancel it instead" if self.status == OrderStatus.PLACED else "void its sale first"
        return "record its refund first" if self.awaits_refund else None

    @property
    def void_told_buyer(self) -> str:
        told = VOID_TOLD_BUYER.get(VoidReason(self.void_reason), "") if self.void_reason else ""
        return told.format(cars=cars_word(self.total))

    @property
    def void_reason_for_staff(self) -> str:
        """Why its sale was voided, in staff's words, for this order's number of cars; blank if not said."""
        return void_reason_label(self.void_reason, cars=self.total).lower() if self.void_reason else ""

    @property
    def awaits_payment(self) -> bool:
        """Placed and not voided: it can still be paid, cancelled or expire."""
        return self.is_active and self.status == OrderStatus.PLACED

    @property
    def reservation_ran_out(self) -> bool:
        """Placed, unpaid and past its deadline: it is cancelled now, whether or not its expiry has run yet."""
        return self.awaits_payment and self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def holds_cars(self) -> bool:
        """Placed or paid and not voided: its cars are reserved or sold to it."""
        return self.is_active and self.status in {OrderStatus.PLACED, OrderStatus.PAID}


class OrderItem(StateGuardedModel):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="items", db_index=False
    )  # car_once_per_order
    car = models.ForeignKey(Car, on_delete=models.PROTECT, related_name="order_items")
    # The price at the moment the line was created, by whichever path; never changed after.
    price = models.DecimalField(max_digits=12, decimal_places=2)
    # True while the order is placed or paid and active; cleared when it is cancelled or its
    # sale voided. The partial unique constraint below is what makes a double sale impossible;
    # a trigger (migration 0007) keeps a line that holds its car off a car still on sale.
    holds_car = models.BooleanField(default=True, editable=False)

    objects = StateGuardedQuerySet.as_manager()

    CREATED_BY = "orders.services.order_place"
    # A line is fixed once created; only its order's transitions release its hold.
    STATE_FIELDS = ("order", "car", "price", "holds_car")

    class Meta:
        ordering = ["id"]
        base_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["order", "car"], name="car_once_per_order"),
            models.UniqueConstraint(
                fields=["car"], condition=models.Q(holds_car=True), name="one_live_order_line_per_car"
            ),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="order_line_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.car} in {self.order}"

    def check_new(self) -> None:
        if not self.holds_car:
            raise TypeError("A new order line holds its car; lines are released by their order's transitions.")
