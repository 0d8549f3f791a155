"""The API's token authentication."""

from typing import Any

from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's, with a token no key can be (not letters and digits: a NUL byte, which PostgreSQL
    refuses in text, a 500) answered as any wrong token is: a 401."""

    def authenticate_credentials(self, key: str) -> Any:
        if not (key.isascii() and key.isalnum()):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)
