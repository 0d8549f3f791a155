from django.contrib.auth.tokens import PasswordResetTokenGenerator


class SignUpTokenGenerator(PasswordResetTokenGenerator):
    """Tokens for the link that finishes a sign-up: valid until the account is active, then never again."""

    key_salt = "carsales.accounts.tokens.SignUpTokenGenerator"

    def _make_hash_value(self, user, timestamp: int) -> str:  # type: ignore[no-untyped-def]
        return f"{user.pk}{user.password}{user.is_active}{timestamp}"


signup_token_generator = SignUpTokenGenerator()
