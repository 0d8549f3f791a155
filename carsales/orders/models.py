from decimal import Decimal

from django.db import models
from django.urls import reverse

from carsales.accounts.models import Buyer
from carsales.catalog.models import Car


class Cart(models.Model):
    """A buyer's cart, or an anonymous visitor's (by session) until they log in."""

    buyer = models.OneToOneField(Buyer, on_delete=models.CASCADE, null=True, blank=True, related_name="cart")
    # A visitor's cart is found through this token in their session; the session key itself
    # changes at login, the session data does not.
    token = models.CharField(max_length=32, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(buyer__isnull=False) | models.Q(token__isnull=False),
                name="cart_has_an_owner",
            )
        ]

    def __str__(self) -> str:
        return f"Cart of {self.buyer or 'visitor'}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    car = models.ForeignKey(Car, on_delete=models.CASCADE, related_name="cart_items")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["cart", "car"], name="car_once_per_cart")]

    def __str__(self) -> str:
        return f"{self.car} in {self.cart}"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="orders")
    cars: "models.ManyToManyField[Car, OrderItem]" = models.ManyToManyField(
        Car, through="OrderItem", related_name="orders"
    )
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    is_active = models.BooleanField(default=True, help_text="Cleared when the order's sale is voided.")
    # Kept by the m2m_changed receiver and order_totals_refresh; never typed in by hand.
    total = models.PositiveIntegerField(default=0, editable=False, help_text="Number of cars.")
    total_price = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"), editable=False)
    placed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("orders:order_detail", kwargs={"pk": self.pk})


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    car = models.ForeignKey(Car, on_delete=models.PROTECT, related_name="order_items")
    # The price at the moment of ordering; empty when a car is added by hand (its value is used).
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["order", "car"], name="car_once_per_order")]

    def __str__(self) -> str:
        return f"{self.car} in {self.order}"
