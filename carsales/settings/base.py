"""Settings shared by every environment; values that differ come from the environment."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable.")
    return value


DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "carsales.core",
    "carsales.accounts",
    "carsales.catalog",
    "carsales.inventory",
    "carsales.orders",
    "carsales.sales",
    "carsales.notifications",
    "carsales.analytics",
    "carsales.audit",
    "carsales.events",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "carsales.core.actor.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "carsales.urls"
WSGI_APPLICATION = "carsales.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "carsales" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "carsales.core.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'var' / 'carsales.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes every transaction take the write lock up front, so concurrent writers
    # queue behind each other instead of failing with "database is locked" on upgrade.
    # WAL: readers (web pages, idle workers polling) never block a writer's commit, and a commit
    # costs one fsync instead of two, so several event workers share the file without stalls.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["carsales.accounts.backends.CaseInsensitiveModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "catalog:car_list"
LOGOUT_REDIRECT_URL = "catalog:car_list"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "carsales" / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Media is served by Django only where no front web server does it (development, demo).
SERVE_MEDIA = env_bool("SERVE_MEDIA", DEBUG)

# QUEUES empty: any queue name; durable receivers can have their own (events_worker --queue-name).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
# Durable receivers (carsales.events); every key is optional, defaults in carsales/events/conf.py.
EVENTS = {
    "TIMEOUT": float(os.environ.get("EVENTS_TIMEOUT", "30")),
    "MAX_ATTEMPTS": int(os.environ.get("EVENTS_MAX_ATTEMPTS", "5")),
    "POLL_INTERVAL": float(os.environ.get("EVENTS_POLL_INTERVAL", "0.05")),
    "RETENTION_DAYS": float(os.environ.get("EVENTS_RETENTION_DAYS", "7")),
}

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns "not logged in" into a 401 (a 403 otherwise);
    # the session still logs in the browser's own requests.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "carsales API",
    "DESCRIPTION": "Catalogue, cart, orders, sales and inventory of the carsales dealership.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # carsales.core.converters.IdConverter: the ids a URL accepts, 1 to 2**63 - 1.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "carsales.core.openapi.add_error_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# An SMTP server that accepts and never answers must not hold a worker (and its queue) forever.
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "carsales <sales@carsales.local>")

# carsales settings
CARSALES_CURRENCY = os.environ.get("CARSALES_CURRENCY", "USD")
CARSALES_MAX_UPLOAD_BYTES = int(os.environ.get("CARSALES_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
# Pixels, not bytes: a small PNG can still decode to gigabytes (decompression bomb).
CARSALES_MAX_IMAGE_PIXELS = int(os.environ.get("CARSALES_MAX_IMAGE_PIXELS", str(40_000_000)))
CARSALES_THUMBNAIL_SIZE = 500
# An unpaid order holds its cars this long; then it is cancelled and the cars go back on sale.
CARSALES_RESERVATION_HOURS = float(os.environ.get("CARSALES_RESERVATION_HOURS", "48"))
CARSALES_BIO_WRITER = os.environ.get("CARSALES_BIO_WRITER", "carsales.catalog.bio.TemplateBioWriter")
CARSALES_BIO_WRITER_TIMEOUT = float(os.environ.get("CARSALES_BIO_WRITER_TIMEOUT", "3"))
CARSALES_LLM_URL = os.environ.get("CARSALES_LLM_URL", "")
CARSALES_LLM_MODEL = os.environ.get("CARSALES_LLM_MODEL", "")
