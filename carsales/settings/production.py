"""Production: every secret and host comes from the environment; nothing insecure by default."""

from .base import *  # noqa: F403
from .base import env_bool, env_required

SECRET_KEY = env_required("SECRET_KEY")
DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
