from django.contrib.auth.tokens import PasswordResetTokenGenerator


class SignUpTokenGenerator(PasswordResetTokenGenerator):
    """Tokens for the link that finishes a sign-up: valid until the account is active, then never
    again; and for the address it was sent to only (a sign-up corrected to another address kills
    the link sent to the first)."""

    key_salt = "carsales.accounts.tokens.SignUpTokenGenerator"

    def _make_hash_value(self, user, timestamp: int) -> str:  # type: ignore[no-untyped-def]
        return f"{user.pk}{user.password}{user.is_active}{user.email}{timestamp}"


signup_token_generator = SignUpTokenGenerator()
