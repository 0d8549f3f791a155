"""Production: every secret and host comes from the environment; nothing insecure by default."""

import os

from .base import *  # noqa: F403
from .base import env_bool, env_required

SECRET_KEY = env_required("SECRET_KEY")
DEBUG = False
# Believed only from TRUSTED_PROXIES: carsales.core.security.TrustedProxyMiddleware drops it otherwise.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# A year of HSTS, subdomains included. Preload only takes effect once the domain is submitted to
# the browsers' list, which is hard to undo; set SECURE_HSTS_PRELOAD=0 to withhold that consent.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 60 * 60)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
