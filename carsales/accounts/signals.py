"""Events of the accounts app."""

from django.dispatch import Signal

account_email_owed = Signal()
"""Sent when an account is owed an email: a sign-up's link, a notice that an address is taken, a
password reset, a notice that the password was changed.

kwargs: `kind` ("signup_confirm", "signup_taken", "password_reset", "password_changed",
"email_change_confirm", "email_change_notice" or "email_change_taken": to the owner of an address
another account asked to move its emails to), `user_id`, `base_url` (the site's address as the
visitor reached it, for the links; blank: CARSALES_SITE_URL, as for a new password set by any
path, told from post_save), and for an email change `new_email` (the confirmation goes there, the
notice to the current address). Sent inside the service's transaction, so a receiver
that keeps the email owed (a durable receiver) owes it only if that transaction commits.
Carries no link nor token: a token is made when the email is sent, so none sits in a stored row.
"""
