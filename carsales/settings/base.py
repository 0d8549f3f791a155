"""Settings shared by every environment; values that differ come from the environment."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
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
    "django_filters",
    "csp",
    "axes",
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
    "carsales.observability",
]

# A form posted from a page opened before a log-in or log-out elsewhere: the site's own page.
CSRF_FAILURE_VIEW = "carsales.core.views.csrf_failure"

MIDDLEWARE = [
    # First: every later middleware (the SSL redirect, lockouts, rate limits) relies on what it leaves.
    "carsales.core.security.TrustedProxyMiddleware",
    "carsales.core.security.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, which answers a HEAD of a static file without reading it; before every layer
    # that reads the method (shared responses, CSRF, the views).
    "carsales.core.methods.HeadAsGetMiddleware",
    # Outside the session middleware, so it sees the Vary: Cookie that one adds to a response.
    "carsales.core.security.PrivatePagesMiddleware",
    # Before the session, authentication, CSRF and message layers, which a visitor it serves lacks.
    "carsales.catalog.middleware.SharedResponsesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "carsales.core.actor.ActorMiddleware",
    # After the session and authentication layers, whose user and session it reads (lazily).
    "carsales.orders.middleware.CartMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Inside every layer that reads the request or marks the response (headers, user, cart, messages),
    # so the pages they answer with are the site's, like any other.
    "carsales.core.security.NulInQueryMiddleware",
    "carsales.core.security.AdminSelectionMiddleware",
    "carsales.core.methods.MethodNotAllowedPageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A row deleted by another request while this one acted on it: the 404 page, not a 500.
    "carsales.core.gone.GoneAsNotFoundMiddleware",
    # Last, as axes asks: turns a log-in refused by a lockout into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# Addresses or networks of the reverse proxies in front of the app (e.g. "10.0.0.5,10.1.0.0/16"):
# only their X-Forwarded-Proto and X-Forwarded-For are believed (carsales.core.security).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")

# Scripts and styles only from our own files: an injected <script> or style attribute does nothing.
# Templates keep to it (carsales/core/tests/test_templates.py); htmx is told not to inject its
# indicator <style> (base.html), the API docs page loads its setup as a file (carsales/templates/api/).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

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
                "carsales.core.csrf.context_processor",
            ],
            # Django's {% url %}, each address reversed once (carsales.core.template_urls).
            "builtins": ["carsales.core.template_urls"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'var' / 'carsales.sqlite3'}",
        # Persistent connections: a request reuses its process's connection instead of opening one
        # (a round trip, and on PostgreSQL a fork) each time; checked before reuse.
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails the request in seconds, not after the OS's timeout.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
        os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")
    )
    # A statement run a few times on a connection is prepared (planned once, until a rollback, on
    # which psycopg drops them): planning cost more than running most of the site's reads (a
    # cart's: 55 of its 115 µs). Values go to the server apart from the statement (psycopg's
    # server-side binding), so a statement's text is the same whatever its values.
    # DATABASE_PREPARE_THRESHOLD=0 prepares on the first run; empty turns both off (Django's
    # default), for a pooler that cannot carry prepared statements (PgBouncer in transaction mode
    # before 1.22).
    if prepare_threshold := os.environ.get("DATABASE_PREPARE_THRESHOLD", "5"):
        DATABASES["default"]["OPTIONS"] |= {"server_side_binding": True, "prepare_threshold": int(prepare_threshold)}
    # Django's, its prepared statements planned anew after a migration changed what they return.
    DATABASES["default"]["ENGINE"] = "carsales.core.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes every transaction take the write lock up front, so concurrent writers
    # queue behind each other instead of failing with "database is locked" on upgrade.
    # WAL: readers (web pages, idle workers polling) never block a writer's commit, and a commit
    # costs one fsync instead of two, so several event workers share the file without stalls.
    # carsales.core.sqlite: Django's backend, waiting for the write lock in 1 ms steps (its docstring).
    DATABASES["default"]["ENGINE"] = "carsales.core.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }

# Bodies Django parses: form fields held in memory, files spooled to disk past this size, and how
# many fields or files one request may carry (each costs memory and parsing time).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sessions in the database, as Django's store keeps them, read by a query built once (core.sessions).
SESSION_ENGINE = "carsales.core.sessions"
AUTHENTICATION_BACKENDS = [
    "carsales.accounts.backends.LockoutBackend",
    "carsales.accounts.backends.CaseInsensitiveModelBackend",
]
# Log-in lockouts (django-axes), for every authenticate() with a request: the site's form, the
# admin's, the API token view. After 5 failures in a row a user name, and separately an address,
# is refused for 15 minutes; a failure during the pause starts it again. Counted in the database,
# so every worker and machine sees the same counts.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
# A name at an address: wrong guesses at one account lock that account from that address only,
# never its owner elsewhere nor the other accounts (staff included) behind the same address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_VERBOSE = False  # no banner on every manage.py command
AXES_USERNAME_CALLABLE = "carsales.accounts.backends.lockout_username"
AXES_CLIENT_IP_CALLABLE = "carsales.core.security.client_counted"  # an IPv6 client by its /64
AXES_LOCKOUT_CALLABLE = "carsales.accounts.views.locked_out"
AXES_RESET_ON_SUCCESS = True
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "catalog:car_list"
LOGOUT_REDIRECT_URL = "catalog:car_list"

LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["carsales.settings.formats"]
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
    "staticfiles": {"BACKEND": "carsales.core.storage.ManifestStaticFiles"},
}
# Media is served by Django only where no front web server does it (development, demo).
SERVE_MEDIA = env_bool("SERVE_MEDIA", DEBUG)

# QUEUES empty: any queue name; durable receivers can have their own (events_worker --queue-name).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
# Where durable receivers' deliveries run (docs/deployment.md): "database" (manage.py events_worker,
# the default, no broker), "celery" (Celery workers on CELERY_BROKER_URL) or "rq" (RQ workers on
# RQ_REDIS_URL, through django-tasks-rq). Every executor needs one `events_worker` for the sweep.
EVENTS_EXECUTOR = os.environ.get("EVENTS_EXECUTOR", "database")
if EVENTS_EXECUTOR not in ("database", "celery", "rq"):
    raise ImproperlyConfigured(f"EVENTS_EXECUTOR is {EVENTS_EXECUTOR!r}: choose database, celery or rq.")
# The queues durable receivers use; broker workers listen on these.
DELIVERY_QUEUES = ["default", "email", "files", "images"]
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
# One message at a time per worker process: with late acknowledgement a killed worker holds back
# only the delivery it was running, which the broker hands to another.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish after a commit runs in the request: with the broker away it fails in seconds, logged,
# and the events sweep publishes it later, instead of holding the buyer's page.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Celery's Django fixup closes every database connection around each task unless told to reuse
# them: a new PostgreSQL connection per delivery was a third of its time (one worker fell behind
# 50 orders a second: commit -> email p50 231 ms, 10 ms reusing). The events' tasks replace a
# broken one themselves (events.services.worker_connections_checked); the fixup still closes
# them once every this many tasks.
CELERY_DB_REUSE_MAX = 1000
RQ_REDIS_URL = os.environ.get("RQ_REDIS_URL", "redis://127.0.0.1:6379/0")
# An unreachable Redis fails a publish in seconds (the sweep publishes it later).
_rq_url = RQ_REDIS_URL + ("&" if "?" in RQ_REDIS_URL else "?") + "socket_connect_timeout=3"
RQ_QUEUES = {name: {"URL": _rq_url} for name in DELIVERY_QUEUES}
if EVENTS_EXECUTOR == "rq":
    INSTALLED_APPS.append("django_rq")  # manage.py rqworker
    TASKS["rq"] = {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": DELIVERY_QUEUES}
# Durable receivers (carsales.events); every key is optional, defaults in carsales/events/conf.py.
EVENTS = {
    **{
        "database": {"TRANSPORT": "database"},
        "celery": {"TRANSPORT": "celery", "CELERY_APP": "carsales.celery.app"},
        "rq": {"TRANSPORT": "tasks", "TASK_BACKEND": "rq"},
    }[EVENTS_EXECUTOR],
    "TIMEOUT": float(os.environ.get("EVENTS_TIMEOUT", "30")),
    "MAX_ATTEMPTS": int(os.environ.get("EVENTS_MAX_ATTEMPTS", "5")),
    "POLL_INTERVAL": float(os.environ.get("EVENTS_POLL_INTERVAL", "0.05")),
    "RETENTION_DAYS": float(os.environ.get("EVENTS_RETENTION_DAYS", "7")),
    "HOUSEKEEPING": [
        "carsales.catalog.services.uncommitted_uploads_sweep",
        "carsales.observability.timeline.timeline_prune",
        "carsales.inventory.services.inventory_snapshots_prune",
        "carsales.analytics.services.order_events_prune",
    ],
}

# The API throttles and the request statistics count in the default cache. LocMem is per process:
# fine for one machine's demo, but every gunicorn worker keeps its own counts, so a deployment with
# several workers or machines sets REDIS_URL to a shared cache (and installs the `redis` package).
# The sign-up and password-reset limits are counted in the database (core.AttemptCount) anyway.
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}
        if os.environ.get("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    # Cached catalogue pages (catalog.pages): in each process's memory, bounded, whatever the
    # default cache is. Correct per process (the version they are keyed by comes from the
    # database), and a flood of distinct queries can only push out other pages, never the rate
    # limits' counters of a shared cache.
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pages",
        "OPTIONS": {"MAX_ENTRIES": 2000},
    },
}
# Catalogue pages cached by the catalogue's version (catalog.pages); older versions expire after this.
CARSALES_PAGE_CACHE_SECONDS = int(os.environ.get("CARSALES_PAGE_CACHE_SECONDS", "300"))
# On PostgreSQL each web process hears the catalogue's version move (LISTEN/NOTIFY, one connection
# more per process) instead of reading it per request (catalog.version_listener).
CARSALES_CATALOGUE_VERSION_PUSHED = env_bool("CARSALES_CATALOGUE_VERSION_PUSHED", True)
# The signal timeline (/staff/timeline/): what each request, task and command set off, kept this long.
CARSALES_TIMELINE = env_bool("CARSALES_TIMELINE", True)
CARSALES_TIMELINE_RETENTION_DAYS = int(os.environ.get("CARSALES_TIMELINE_RETENTION_DAYS", "7"))
# Inventory snapshots older than this many days are thinned to the last of each day (housekeeping).
CARSALES_INVENTORY_SNAPSHOT_DAYS = int(os.environ.get("CARSALES_INVENTORY_SNAPSHOT_DAYS", "90"))
# Order events of days older than this many days are deleted (housekeeping); the daily figures stay.
CARSALES_ANALYTICS_EVENT_DAYS = int(os.environ.get("CARSALES_ANALYTICS_EVENT_DAYS", "730"))
# Seconds each process keeps its request counts in memory before adding them to the cache.
CARSALES_REQUEST_STATS_FLUSH = float(os.environ.get("CARSALES_REQUEST_STATS_FLUSH", "10"))
# Form submissions per address: (count, seconds). Past the count, a 429 page until the window ends.
# Sign-ups asked for (a valid form: each sends an email) per address per day: few enough that one
# person cannot hold the showroom through many accounts (each holds at most CARSALES_MAX_CARS_HELD
# cars); a form with mistakes to correct counts only among the attempts, which bound guessing which
# names are taken. Reset emails per target address, whoever asks, so no one floods a victim's
# mailbox from many addresses. Password changes per account (once logged in): each tries a current
# password, so a session left open is no unlimited way to guess it, from however many addresses.
CARSALES_RATE_LIMITS = {
    "signup": (3, 24 * 60 * 60),
    "signup_attempt": (20, 60 * 60),
    "password_reset": (5, 60 * 60),
    "password_reset_target": (3, 60 * 60),
    "password_change": (10, 60 * 60),
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "carsales.core.renderers.StyledBrowsableAPIRenderer",
    ],
    # Token first: its WWW-Authenticate header turns "not logged in" into a 401 (a 403 otherwise);
    # the session still logs in the browser's own requests.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "carsales.core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "EXCEPTION_HANDLER": "carsales.core.gone.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "carsales.core.pagination.Pages",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "carsales.core.schema.Schema",
    # Writes only (carsales.core.throttling); past the rate, 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "carsales.core.throttling.AnonWriteThrottle",
        "carsales.core.throttling.UserWriteThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon_write": os.environ.get("API_ANON_WRITE_RATE", "20/minute"),
        "user_write": os.environ.get("API_USER_WRITE_RATE", "60/minute"),
        "staff_write": os.environ.get("API_STAFF_WRITE_RATE", "1000/minute"),
        "token": os.environ.get("API_TOKEN_RATE", "10/minute"),
    },
    # Bodies nested deeper than this are refused (400) before parsing: deep nesting exhausts the
    # parser's recursion (a 2 KB body could answer 500).
    "DEFAULT_PARSER_CLASSES": [
        "carsales.core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Addresses come from REMOTE_ADDR, which carsales.core.security sets behind trusted proxies;
    # DRF's default would believe any client's X-Forwarded-For and let it dodge the throttle.
    "NUM_PROXIES": 0,
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
    # One name for a choice set two serializers share (an order's void_reason, a void's reason).
    "ENUM_NAME_OVERRIDES": {
        "VoidReasonEnum": "carsales.orders.models.VoidReason",
        "PaymentMethodEnum": "carsales.orders.models.PaymentMethod",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "carsales.core.openapi.add_error_responses",
        "carsales.core.schema.document_throttling",
        "carsales.core.schema.non_negative_decimals",
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
# Where the emails' links lead: the site's address as buyers reach it (workers have no request).
CARSALES_SITE_URL = os.environ.get("CARSALES_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "carsales <sales@carsales.local>")

# carsales settings
CARSALES_CURRENCY = os.environ.get("CARSALES_CURRENCY", "USD")
# How buyers reach the dealership: every page's footer, an unpriced car, a placed order; and how
# they pay one ("payment": the placed order's page and email). Each one left empty is not shown
# (no made-up number on a real site).
CARSALES_DEALER = {
    "name": os.environ.get("CARSALES_DEALER_NAME", "carsales"),
    "phone": os.environ.get("CARSALES_DEALER_PHONE", ""),
    "email": os.environ.get("CARSALES_DEALER_EMAIL", ""),
    "address": os.environ.get("CARSALES_DEALER_ADDRESS", ""),
    "payment": os.environ.get("CARSALES_DEALER_PAYMENT", ""),
}
# The unit odometer readings are typed and shown in: "km" or "mi" (one per site, never mixed).
CARSALES_MILEAGE_UNIT = os.environ.get("CARSALES_MILEAGE_UNIT", "km")
# A car whose last price change was a drop shows "Price dropped" for this many days after it.
CARSALES_PRICE_DROP_DAYS = int(os.environ.get("CARSALES_PRICE_DROP_DAYS", "14"))
CARSALES_MAX_UPLOAD_BYTES = int(os.environ.get("CARSALES_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
# A whole request: the largest photo plus the form around it; bigger ones get 413 unread.
CARSALES_MAX_REQUEST_BYTES = CARSALES_MAX_UPLOAD_BYTES + 1024 * 1024
# Photos staff may upload to a gallery in one go, and the requests allowed that much more.
CARSALES_GALLERY_UPLOAD_BATCH = 8
_GALLERY_REQUEST_BYTES = CARSALES_GALLERY_UPLOAD_BATCH * CARSALES_MAX_UPLOAD_BYTES + 1024 * 1024
CARSALES_LARGE_REQUEST_PATHS = {
    r"^/(api/)?cars/[0-9]+/photos/$": _GALLERY_REQUEST_BYTES,
    r"^/admin/catalog/car/([0-9]+/change|add)/$": _GALLERY_REQUEST_BYTES,  # the gallery inline
}
# Pixels, not bytes: a small PNG can still decode to gigabytes (decompression bomb).
CARSALES_MAX_IMAGE_PIXELS = int(os.environ.get("CARSALES_MAX_IMAGE_PIXELS", str(40_000_000)))
CARSALES_THUMBNAIL_SIZE = 500
# The smallest photo taken (longer side, shorter side): a thumbnail or an icon uploaded by mistake
# would be stretched over the car's page.
CARSALES_MIN_PHOTO_SIZE = (400, 300)
# Gallery renditions (WebP), longest side in pixels: the photo shown, and the strip below it.
CARSALES_GALLERY_SIZE = 1600
CARSALES_GALLERY_STRIP_SIZE = 240
# Photos a car's gallery holds besides its cover.
CARSALES_GALLERY_MAX_PHOTOS = int(os.environ.get("CARSALES_GALLERY_MAX_PHOTOS", "24"))
# Seconds after which an upload whose save never committed is deleted; longer than any transaction.
CARSALES_UNCOMMITTED_UPLOAD_GRACE = float(os.environ.get("CARSALES_UNCOMMITTED_UPLOAD_GRACE", "3600"))
# An unpaid order holds its cars this long; then it is cancelled and the cars go back on sale.
CARSALES_RESERVATION_HOURS = float(os.environ.get("CARSALES_RESERVATION_HOURS", "48"))
# No buyer may hold more cars than this at once, in their cart and unpaid orders together.
CARSALES_MAX_CARS_HELD = int(os.environ.get("CARSALES_MAX_CARS_HELD", "3"))
CARSALES_BIO_WRITER = os.environ.get("CARSALES_BIO_WRITER", "carsales.catalog.bio.TemplateBioWriter")
CARSALES_BIO_WRITER_TIMEOUT = float(os.environ.get("CARSALES_BIO_WRITER_TIMEOUT", "3"))
CARSALES_LLM_URL = os.environ.get("CARSALES_LLM_URL", "")
CARSALES_LLM_MODEL = os.environ.get("CARSALES_LLM_MODEL", "")
