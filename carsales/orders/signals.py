"""Events of an order's life. Sent by the services in `orders.services` only, inside the
transaction of the change and after its writes: a receiver's writes commit or roll back with
the order, and each receiver that writes runs in its own savepoint, so one that fails is recorded
(core.ReceiverFailure) without harming the order or the other receivers; a durable receiver's
delivery joins the order's transaction instead, so failing to write it fails the order.

Receivers that touch the outside world (email) must enqueue a background task, never act
inline: the task row is written in the same transaction and runs only once it commits.
"""

from django.dispatch import Signal

from carsales.core.dispatch import DomainSignal

order_placed = DomainSignal(
    "order_placed",
    doc="""Sent when a buyer's checkout created an order (seed 003's `order_created`).

kwargs: `order` (Order, totals set, items written), `buyer` (Buyer), `actor` (the User who checked out),
`lines` (the OrderItems written, in car id order, their cars and brands loaded: what the
order holds, without a query).
Not sent when the checkout is refused (empty cart, a car off sale) or rolls back.
""",
)

order_payment_recorded = Signal()
"""Sent when staff mark a placed order paid, before order_paid, inside the same transaction.

kwargs: `order` (Order, status paid, its cars sold). Sent with `send`, not `send_robust`: its
receivers record what must exist if and only if the payment does (the sale), so one that raises
rolls the payment back. Observers that may fail alone listen to order_paid instead.
"""

order_paid = DomainSignal(
    "order_paid",
    doc="""Sent when staff mark a placed order paid; its cars are sold by then.

kwargs: `order` (Order, status paid), `actor` (the staff User). Not sent for an order already
paid or cancelled (the service refuses), so each order is paid at most once.
""",
)

order_cancelled = DomainSignal(
    "order_cancelled",
    doc="""Sent when a placed order is cancelled; its cars are back in stock by then.

kwargs: `order` (Order, status cancelled), `actor` (User, or None when the reservation
expired or a shell removed its last line), `reason` (CancellationReason: staff, buyer, expired,
or emptied: its last line removed). Not sent for a paid or already cancelled order.
""",
)

order_refunded = DomainSignal(
    "order_refunded",
    doc="""Sent when staff record that a voided sale's payment was refunded to its buyer.

kwargs: `order` (Order, voided, `refunded_at` and `refund_reference` set), `actor` (the staff
User). Sent once per order: the service refuses a refund already recorded.
""",
)

orders_loaded = Signal()
"""Sent by `loaddata` once every fixture's rows are in, inside its transaction, before it commits.

kwargs: none. Each receiver returns what it finds in its own app's rows that contradicts the
orders, as sentences (an empty list when nothing does); the load is refused, nothing kept, when
any receiver finds something. Sent with `send`: a receiver that raises fails the load too.
"""
