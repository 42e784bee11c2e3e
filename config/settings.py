"""CivicDesk settings: one complete base, switched by environment variables.

The embedded default (no variables set) is SQLite in WAL mode, tasks in the database and live
updates relayed through the database. Production sets DATABASE_URL, REDIS_URL and the backends.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_choice, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("CIVICDESK_VAR_DIR", BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)
TESTING = "pytest" in sys.modules or env_bool("CIVICDESK_TESTING", default=False)

DEBUG = env_bool("CIVICDESK_DEBUG", default=False)
SECRET_KEY = env_str("CIVICDESK_SECRET_KEY", "")
if not SECRET_KEY:
    # Development and tests only: a stable key kept out of the source tree.
    _key_file = VAR_DIR / "secret_key"
    if _key_file.exists():
        SECRET_KEY = _key_file.read_text().strip()
    else:
        import secrets

        SECRET_KEY = secrets.token_urlsafe(50)
        if not TESTING:
            _key_file.write_text(SECRET_KEY)
ALLOWED_HOSTS = env_list(
    "CIVICDESK_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CIVICDESK_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "ninja",  # the API docs page uses its bundled Swagger UI (static files), not a CDN
    "django_tasks",
    "django_tasks_db",
    "civicdesk.core",
    "civicdesk.accounts",
    "civicdesk.catalogue",
    "civicdesk.citizens",
    "civicdesk.channels",
    "civicdesk.routing",
    "civicdesk.sla",
    "civicdesk.knowledge",
    "civicdesk.cases",
    "civicdesk.realtime",
    "civicdesk.portal",
    "civicdesk.workspace",
    "civicdesk.api",
    "civicdesk.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Bounds requests in flight; database overload becomes 503 + Retry-After (core.overload).
    "civicdesk.core.overload.AdmissionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "civicdesk.core.context_processors.body",
                "civicdesk.core.context_processors.live_updates",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Which server runs this process: config/asgi.py says "asgi" before settings load. Under ASGI a
# request may run on any thread, so connections are not kept between requests there.
_UNDER_ASGI = env_str("CIVICDESK_SERVER", "wsgi") == "asgi"
_sqlite_path = env_path("CIVICDESK_SQLITE_PATH", VAR_DIR / "civicdesk.sqlite3")
DATABASE_URL = env_str("DATABASE_URL", "")
# PostgreSQL: each process keeps a psycopg pool of at most POOL_MAX_SIZE connections, opened
# as needed and shared by its threads; a request that finds none free within POOL_TIMEOUT
# seconds is answered 503 (core.overload). Budget, against the server's max_connections (100
# by default, 3 of them reserved for superusers): every process that opens connections counts,
# so on one machine (2 web processes + socket process + worker + scheduler) the defaults allow
# 5 x 8 = 40; past one machine N web processes add N x 8. See docs/deployment.md; with more
# processes than the budget allows, lower the size or put PgBouncer (transaction mode) between.
DB_POOL_MIN_SIZE = env_int("CIVICDESK_DB_POOL_MIN_SIZE", 1, minimum=0)
DB_POOL_MAX_SIZE = env_int("CIVICDESK_DB_POOL_MAX_SIZE", 8, minimum=1)
DB_POOL_TIMEOUT_SECONDS = env_int("CIVICDESK_DB_POOL_TIMEOUT_SECONDS", 5, minimum=1)
# SQLite: seconds a write waits for the lock before "database is locked" (then 503).
SQLITE_BUSY_TIMEOUT_SECONDS = env_int("CIVICDESK_SQLITE_BUSY_TIMEOUT_SECONDS", 20, minimum=0)
# SQLite under WSGI: each server thread keeps its connection this long (health-checked before
# reuse); 0 closes it after every request. Always 0 under ASGI.
_CONN_MAX_AGE = 0 if _UNDER_ASGI else env_int("CIVICDESK_CONN_MAX_AGE", 600, minimum=0)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if env_bool("CIVICDESK_DB_POOL", default=True):
        # Pooled connections are returned at the end of each request (CONN_MAX_AGE must be 0).
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "pool": {
                "min_size": min(DB_POOL_MIN_SIZE, DB_POOL_MAX_SIZE),
                "max_size": DB_POOL_MAX_SIZE,
                "timeout": DB_POOL_TIMEOUT_SECONDS,
            },
        }
    else:  # behind PgBouncer (transaction mode): Django keeps no pool of its own
        DATABASES["default"]["CONN_MAX_AGE"] = _CONN_MAX_AGE
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_sqlite_path),
            "OPTIONS": {
                # WAL lets the web process read while the task worker writes; IMMEDIATE
                # transactions take the write lock up front instead of failing on upgrade, and
                # the busy timeout makes writers queue for it.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
            },
            "CONN_MAX_AGE": _CONN_MAX_AGE,
            "CONN_HEALTH_CHECKS": True,
            # A file, not memory: the browser tests' live server reads it from other threads.
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "workspace:login"
LOGIN_REDIRECT_URL = "workspace:inbox"
LOGOUT_REDIRECT_URL = "workspace:login"

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ro", _("Romanian"))]
TIME_ZONE = env_str("CIVICDESK_TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = env_path("CIVICDESK_MEDIA_ROOT", VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Largest accepted attachment, and the largest request body (JSON API and forms).
CIVICDESK_MAX_ATTACHMENT_BYTES = env_int("CIVICDESK_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("CIVICDESK_MAX_BODY_BYTES", 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The channel webhook endpoint refuses bodies larger than this (413), before reading them.
CIVICDESK_MAX_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
# Pages (portal forms with an attachment, workspace replies with several files, the admin):
# room for four attachments and the form around them.
CIVICDESK_MAX_FORM_BYTES = env_int(
    "CIVICDESK_MAX_FORM_BYTES",
    4 * CIVICDESK_MAX_ATTACHMENT_BYTES + CIVICDESK_MAX_BODY_BYTES,
    minimum=1,
)
# The server-level limit (core.bodylimit, wrapped around config.wsgi and config.asgi): a body
# over its path's limit is refused with 413 before it is read. The API and the channel
# webhooks take JSON or form posts; everything else may carry attachments.
CIVICDESK_BODY_LIMITS = {
    "default": CIVICDESK_MAX_FORM_BYTES,
    "/api/": CIVICDESK_MAX_BODY_BYTES,
    "/hooks/": CIVICDESK_MAX_BODY_BYTES,
}

# --- Serving --------------------------------------------------------------------------------
# Admission control (core.overload): requests running at once in one web process; one more
# waits this long for a slot, then gets 503 with Retry-After. Keep it at or under the database
# pool's size, and under the server's threads (`civicdesk serve --threads`, 32 by default).
CIVICDESK_MAX_REQUESTS_IN_FLIGHT = env_int("CIVICDESK_MAX_REQUESTS_IN_FLIGHT", 8, minimum=1)
CIVICDESK_ADMISSION_WAIT_SECONDS = float(env_str("CIVICDESK_ADMISSION_WAIT_SECONDS", "3"))
CIVICDESK_RETRY_AFTER_SECONDS = env_int("CIVICDESK_RETRY_AFTER_SECONDS", 2, minimum=1)
# Web processes `civicdesk serve` starts on its port (0: its default, 2 on PostgreSQL and 1 on
# SQLite). Each has its own
# database pool (CIVICDESK_DB_POOL_MAX_SIZE connections) and admission slots.
CIVICDESK_WEB_WORKERS = env_int("CIVICDESK_WEB_WORKERS", 0, minimum=0)
# Where pages open their WebSocket. Empty: the page's own host and port (one origin, /ws/
# routed to the socket servers by the load balancer), unless CIVICDESK_SOCKET_PORT names the
# port of the socket server on the page's host (what `civicdesk serve` sets). Otherwise a full
# base address such as wss://live.example.org.
CIVICDESK_SOCKET_URL = env_str("CIVICDESK_SOCKET_URL", "")
CIVICDESK_SOCKET_PORT = env_int("CIVICDESK_SOCKET_PORT", 0, minimum=0)

# --- Channels -------------------------------------------------------------------------------
# `civicdesk smtpd` (started by `civicdesk serve` unless --no-smtpd): where citizens' mail for
# the email accounts is received. Loopback by default: a mail server in front relays to it.
CIVICDESK_SMTPD_HOST = env_str("CIVICDESK_SMTPD_HOST", "127.0.0.1")
CIVICDESK_SMTPD_PORT = env_int("CIVICDESK_SMTPD_PORT", 2525, minimum=1)
# Adapters beyond the packages in civicdesk/channels/adapters/: dotted paths to modules that
# expose ADAPTER (or to adapter classes). Tests add the fictional sms_acme channel.
CIVICDESK_CHANNEL_ADAPTERS = env_list("CIVICDESK_CHANNEL_ADAPTERS", [])
if TESTING:
    CIVICDESK_CHANNEL_ADAPTERS += ["civicdesk.channels.tests.sms_acme"]
# Fernet keys for channel account secrets, newest first (comma-separated). Empty: one key
# derived from SECRET_KEY. See docs/adr/0007-channel-account-secrets-are-encrypted-at-rest.md.
CIVICDESK_ENCRYPTION_KEYS = env_list("CIVICDESK_ENCRYPTION_KEYS", [])
# A signed webhook whose timestamp is further than this from now is refused as a replay;
# signatures seen within it are refused too.
CIVICDESK_WEBHOOK_TOLERANCE_SECONDS = env_int("CIVICDESK_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)
# Inbound rate limit per sender identity: more than this many messages in the window are held
# (status "throttled", replayable), never processed automatically while the limit holds.
CIVICDESK_INBOUND_RATE_LIMIT = env_int("CIVICDESK_INBOUND_RATE_LIMIT", 20, minimum=1)
CIVICDESK_INBOUND_RATE_WINDOW_SECONDS = env_int(
    "CIVICDESK_INBOUND_RATE_WINDOW_SECONDS", 600, minimum=1
)
# The worker's ingest loop takes up to this many stored payloads per batch (one transaction).
# A batch has a fixed cost (the claim; catalogue, rota and policy reads) that a larger batch
# spreads (on PostgreSQL, batches of 200 took about 30 % less CPU per contact than batches of
# 50). SQLite has one writer and acknowledgements wait while a batch writes: batches stay short.
CIVICDESK_INGEST_BATCH_SIZE = env_int(
    "CIVICDESK_INGEST_BATCH_SIZE", 200 if DATABASE_URL.startswith("postgres") else 50, minimum=1
)
# Loop protection: at most this many automatic messages to one recipient per window.
CIVICDESK_AUTOMATIC_MESSAGE_LIMIT = env_int("CIVICDESK_AUTOMATIC_MESSAGE_LIMIT", 5, minimum=0)
CIVICDESK_AUTOMATIC_MESSAGE_WINDOW_SECONDS = env_int(
    "CIVICDESK_AUTOMATIC_MESSAGE_WINDOW_SECONDS", 3600, minimum=1
)
# Provider HTTP calls: seconds before a connection or a response is given up.
CIVICDESK_PROVIDER_TIMEOUT_SECONDS = env_int("CIVICDESK_PROVIDER_TIMEOUT_SECONDS", 10, minimum=1)

# --- Background tasks -----------------------------------------------------------------------
TASK_BACKEND = env_choice(
    "CIVICDESK_TASK_BACKEND",
    "immediate" if TESTING else "database",
    ("database", "rq", "immediate"),
)
REDIS_URL = env_str("REDIS_URL", "")
# RQ queues live in Redis; the backend is only used when CIVICDESK_TASK_BACKEND=rq.
INSTALLED_APPS += ["django_rq"]
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 300}}
if TASK_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
elif TASK_BACKEND == "rq":
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# How long a scheduler that died keeps the standby schedulers waiting (see core.leases).
CIVICDESK_SCHEDULER_LEASE_SECONDS = env_int("CIVICDESK_SCHEDULER_LEASE_SECONDS", 30, minimum=1)

# --- Shared cache -----------------------------------------------------------------------------
# What every process of one instance must count together (the portal's rate limits): Redis
# past one machine, files under var/ on one (the web processes and the workers share them);
# tests keep a cache of their own per process.
if TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Live updates ---------------------------------------------------------------------------
# "database": services write events to an outbox the socket process relays (one machine, any
# number of processes). "redis": straight to the Redis channel layer (past one machine).
REALTIME_BACKEND = env_choice(
    "CIVICDESK_REALTIME_BACKEND",
    "redis" if REDIS_URL and not TESTING else "database",
    ("database", "redis"),
)
if REALTIME_BACKEND == "redis":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL or "redis://127.0.0.1:6379/0"]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CIVICDESK_REALTIME_POLL_SECONDS = 0.25

# --- The public body this instance serves -----------------------------------------------------
CIVICDESK_BODY_NAME = env_str("CIVICDESK_BODY_NAME", "City of Riverton")
# Where citizens reach the portal: the start of the status links in messages we send them.
CIVICDESK_PUBLIC_URL = env_str("CIVICDESK_PUBLIC_URL", "http://127.0.0.1:8000")
# "Resend my status link": the most requests per address and per client in the window.
CIVICDESK_LINK_RESEND_PER_ADDRESS = env_int("CIVICDESK_LINK_RESEND_PER_ADDRESS", 3, minimum=1)
CIVICDESK_LINK_RESEND_PER_CLIENT = env_int("CIVICDESK_LINK_RESEND_PER_CLIENT", 10, minimum=1)
CIVICDESK_LINK_RESEND_WINDOW_SECONDS = env_int(
    "CIVICDESK_LINK_RESEND_WINDOW_SECONDS", 3600, minimum=1
)
CIVICDESK_REFERENCE_PREFIX = env_str("CIVICDESK_REFERENCE_PREFIX", "RIV")
CIVICDESK_DEFAULT_REGION = env_str("CIVICDESK_DEFAULT_REGION", "GB")
# How long an inbound message without a reference may join the citizen's open case (days).
CIVICDESK_THREAD_WINDOW_DAYS = env_int("CIVICDESK_THREAD_WINDOW_DAYS", 14, minimum=0)
# A reply to a closed case reopens it within this many days of its closing (of its last
# activity); later, it opens a new case for the same citizen.
CIVICDESK_REOPEN_WINDOW_DAYS = env_int("CIVICDESK_REOPEN_WINDOW_DAYS", 30, minimum=0)
CIVICDESK_DELIVERY_MAX_ATTEMPTS = env_int("CIVICDESK_DELIVERY_MAX_ATTEMPTS", 6, minimum=1)
# A send holds its delivery this long, renewed every third of it while the provider call runs;
# the sweep takes over a delivery whose worker died once its lease has run out (channels.
# sending_lease).
CIVICDESK_DELIVERY_LEASE_SECONDS = env_int("CIVICDESK_DELIVERY_LEASE_SECONDS", 30, minimum=1)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("CIVICDESK_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "civicdesk": {"handlers": ["console"], "level": env_str("CIVICDESK_LOG_LEVEL", "INFO")},
        # Server errors (500s) with their tracebacks, whatever DEBUG says.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django_tasks": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
