"""Django settings for DayFlow Integrations.

Everything comes from environment variables with embedded defaults that need no server:
SQLite (WAL) for the database, kombu's filesystem transport for the broker, the database cache
for locks and rate-limit buckets. See docs/architecture.md, "Configuration".
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from dayflow.config import (
    env_bool,
    env_list,
    new_fernet_key,
    new_secret_key,
    persistent_secret,
    sandbox_client,
)
from dayflow.limits import DEFAULTS as LIMIT_DEFAULTS
from integrations.providers import REGISTRY

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DAYFLOW_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or persistent_secret(
    VAR_DIR, "secret_key", new_secret_key
)
# Fernet keys, comma-separated, newest first: the first encrypts, all decrypt.
DAYFLOW_ENCRYPTION_KEYS = env_list("DAYFLOW_ENCRYPTION_KEYS") or [
    persistent_secret(VAR_DIR, "encryption_key", new_fernet_key)
]

PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The sandbox of emulated services: never behind https (integrations.service_urls.sandbox_on,
# which the sandbox's own gate reads too). run.py switches it on for its embedded defaults.
DAYFLOW_SANDBOX = env_bool("DAYFLOW_SANDBOX") and not PUBLIC_URL.startswith("https://")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", PUBLIC_URL)

INSTALLED_APPS = [
    # The admin without its autodiscovery at start-up: dayflow/urls.py imports every app's
    # admin module when the routes load, so a worker, beat or a command (which never route
    # a request) skip ~0.15 s of imports at every start.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # Personal API tokens, stored hashed (dayflow.models.ApiToken), not DRF's plain-text ones.
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "social_django",
    "auditlog",
    # Sign-in lockout (dayflow/lockout.py); its "Access attempts" in the admin unlock.
    "axes",
    "csp",
    "audit",
    "dayflow",
    "integrations",
    "sync",
    "webhooks",
    # Notices in the app (the bell) and by email: raised from the other apps' signals.
    "notifications",
    # Data protection: exports of a person's data, account erasure, consent per connection.
    "privacy",
    # Security monitoring: rules over the audit trail raise alerts (security/rules.py).
    "security",
    # The emulated services (integrations/sandbox/): tables only; its URLs 404 unless enabled.
    "integrations.sandbox",
    # Last: once every app above is ready, what start-up made is frozen for the garbage
    # collector (dayflow/collector.py).
    "dayflow.collector.StartedConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # /api/webhooks/ skips the rest of the stack (webhooks/middleware.py says why).
    "webhooks.middleware.WebhookFastPath",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Signed-in pages are never stored by a browser or a proxy.
    "dayflow.middleware.PrivatePages",
    "dayflow.middleware.PersonalTimeZone",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # The Content-Security-Policy header (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # django-axes last, as its docs ask: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dayflow.urls"
WSGI_APPLICATION = "dayflow.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite in WAL mode by default; DATABASE_URL for PostgreSQL -------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "dayflow.sqlite3",
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so a writer waits (up to the timeout)
                # instead of failing with "database is locked" when it upgrades a read lock.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
            "TEST": {"NAME": os.environ.get("DAYFLOW_TEST_SQLITE", "")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared across processes (locks, rate-limit buckets) ------------------------------
REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "dayflow_cache",
        }
    }

# --- Celery -------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
# kombu's filesystem transport, publishing each message atomically (dayflow/broker.py says why).
CELERY_BROKER_TRANSPORT = (
    "dayflow.broker:Transport" if CELERY_BROKER_URL.startswith("filesystem") else None
)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "sync.*": {"queue": "sync"},
    "webhooks.*": {"queue": "webhooks"},
    "integrations.*": {"queue": "maintenance"},
    "audit.*": {"queue": "maintenance"},
    "dayflow.*": {"queue": "maintenance"},
    # Beat's dispatcher of scheduled syncs: bookkeeping, kept off the queue of the syncs it sends.
    "sync.dispatch_due": {"queue": "maintenance"},
    "notifications.*": {"queue": "default"},
    "privacy.*": {"queue": "maintenance"},
}
CELERY_TASK_IGNORE_RESULT = True
# Acknowledged late: a dead pool child's message goes back to the queue. A whole worker killed
# on the filesystem broker loses it; sync jobs come back by their lease (docs/architecture.md).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# django-celery-beat's, noting beat's heartbeat and disabling a schedule row it cannot run.
CELERY_BEAT_SCHEDULER = "dayflow.beat:Scheduler"
# `/metrics` for Prometheus: scraped with `Authorization: Bearer <this>` (else staff only).
DAYFLOW_METRICS_TOKEN = os.environ.get("DAYFLOW_METRICS_TOKEN", "")
DAYFLOW_HEARTBEAT_SECONDS = float(os.environ.get("DAYFLOW_HEARTBEAT_SECONDS", 60))
# /healthz says "degraded" when the worker's or beat's last heartbeat is older than this.
DAYFLOW_HEARTBEAT_STALE_SECONDS = float(
    os.environ.get("DAYFLOW_HEARTBEAT_STALE_SECONDS", max(300, 3 * DAYFLOW_HEARTBEAT_SECONDS))
)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "dayflow.heartbeat", "schedule": DAYFLOW_HEARTBEAT_SECONDS},
}
# Scheduled syncs: one entry for every connection, whatever their number (sync/schedule.py):
# each tick queues the connections whose `next_sync_at` has come. Its message expires before the
# next tick, so a stopped maintenance worker does not come back to a pile of them.
DAYFLOW_SYNC_DISPATCH_SECONDS = float(os.environ.get("DAYFLOW_SYNC_DISPATCH_SECONDS", 30))
CELERY_BEAT_SCHEDULE |= {
    "sync-dispatch-due": {
        "task": "sync.dispatch_due",
        "schedule": DAYFLOW_SYNC_DISPATCH_SECONDS,
        "options": {"expire_seconds": int(DAYFLOW_SYNC_DISPATCH_SECONDS)},
    },
    # Re-sends the jobs whose message may be gone (sync.jobs.resend_lost).
    "sync-recover-jobs": {"task": "sync.recover_jobs", "schedule": 300.0},
}
CELERY_BEAT_SCHEDULE |= {
    "webhooks-renew-subscriptions": {"task": "webhooks.renew_subscriptions", "schedule": 3600.0},
    "webhooks-requeue-stale": {"task": "webhooks.requeue_stale_deliveries", "schedule": 300.0},
}
# The count row of audit rows dropped by the cap on rejected requests (audit/capped.py).
CELERY_BEAT_SCHEDULE["audit-flush-capped-rejections"] = {
    "task": "audit.flush_capped_rejections",
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["integrations-refresh-expiring-tokens"] = {
    "task": "integrations.refresh_expiring_tokens",
    "schedule": 300.0,  # tokens expiring within 10 minutes get two chances
}
# Retention (dayflow/retention.py): days each kind of record is kept, each overridable from
# the environment (DAYFLOW_RETENTION_INBOX_DAYS, ..._JOURNAL_DAYS, ..._JOBS_DAYS, ..._AUDIT_DAYS);
# each policy runs daily in bounded batches. The audit chain is verified daily too.
DAYFLOW_RETENTION_DAYS = {
    policy: max(1, int(os.environ.get(f"DAYFLOW_RETENTION_{policy.upper()}_DAYS", default)))
    for policy, default in {"inbox": 30, "journal": 90, "jobs": 180, "audit": 365}.items()
}
DAYFLOW_RETENTION_BATCH = max(1, int(os.environ.get("DAYFLOW_RETENTION_BATCH", 1000)))
DAYFLOW_RETENTION_MAX_BATCHES = max(1, int(os.environ.get("DAYFLOW_RETENTION_MAX_BATCHES", 200)))
CELERY_IMPORTS = ["dayflow.retention"]
CELERY_BEAT_SCHEDULE |= {
    f"retention-{policy}": {"task": f"dayflow.retention.{policy}", "schedule": 86400.0}
    for policy in DAYFLOW_RETENTION_DAYS
}
CELERY_BEAT_SCHEDULE["audit-verify-chain"] = {"task": "audit.verify_chain", "schedule": 86400.0}
# Webhooks: webhooks/conf.py lists every setting with its default (a service's own, with its
# hooks). Graph's maximum subscription lifetime differs between doc versions (4230 or 10,080
# minutes for Outlook events).
WEBHOOKS_GRAPH_MAX_MINUTES = int(os.environ.get("WEBHOOKS_GRAPH_MAX_MINUTES", 4230))
# The signing secret of the Linear OAuth app's own webhook (LinearProvider.app_webhook_secret).
WEBHOOKS_LINEAR_APP_SECRET = os.environ.get("LINEAR_WEBHOOK_SECRET", "")
# Security monitoring (security/conf.py lists its thresholds and their defaults): the rules
# read the new audit events every minute, usage hourly; old alerts go daily.
CELERY_BEAT_SCHEDULE |= {
    "security-evaluate": {"task": "security.evaluate", "schedule": 60.0},
    "security-check-usage": {"task": "security.check_usage", "schedule": 3600.0},
    "security-delete-old-alerts": {"task": "security.delete_old_alerts", "schedule": 86400.0},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")

# --- Data protection (privacy/): exports, erasure ------------------------------------------
# Where the archives are written: private, under VAR_DIR, never a served directory.
DAYFLOW_EXPORT_DIR = Path(os.environ.get("DAYFLOW_EXPORT_DIR", VAR_DIR / "exports"))
# How long an export's download link works; beat then deletes the file.
DAYFLOW_EXPORT_LIFETIME = dt.timedelta(days=int(os.environ.get("DAYFLOW_EXPORT_DAYS", 7)))
# An erasure waits for a service that does not confirm a revocation: the first retry after this
# many seconds, doubling (dayflow.backoff), and gives up on that grant after this many runs.
DAYFLOW_ERASURE_RETRY_SECONDS = float(os.environ.get("DAYFLOW_ERASURE_RETRY_SECONDS", 60))
DAYFLOW_ERASURE_MAX_ATTEMPTS = int(os.environ.get("DAYFLOW_ERASURE_MAX_ATTEMPTS", 10))
CELERY_BEAT_SCHEDULE["privacy-remove-expired-exports"] = {
    "task": "privacy.remove_expired_exports",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["privacy-resume-erasures"] = {
    "task": "privacy.resume_erasures",
    "schedule": 3600.0,
}

# --- Email (notifications): printed to the console unless an SMTP server is configured --------
# EMAIL_HOST names the SMTP server; EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
# EMAIL_USE_TLS / EMAIL_USE_SSL as Django reads them. The test runner uses its locmem backend.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 587 if env_bool("EMAIL_USE_TLS") else 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", 20))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "DayFlow <dayflow@localhost>")
# Staff told of each new security alert by email: ADMINS="ops@example.com,alice@example.com".
ADMINS = [(address, address) for address in env_list("ADMINS")]
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- Auth, sessions, security ------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's model backend, loading the profile (the person's time zone) with the user.
# django-axes' lockout check first (dayflow/lockout.py), then the model backend.
AUTHENTICATION_BACKENDS = ["dayflow.lockout.LockoutBackend", "dayflow.auth.ProfileBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SECURE_SSL = env_bool("DAYFLOW_HTTPS", PUBLIC_URL.startswith("https://"))
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_SSL_REDIRECT = SECURE_SSL and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000 if SECURE_SSL else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL
SECURE_HSTS_PRELOAD = SECURE_SSL
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Throttles and caps: every limit's default and meaning are in dayflow/limits.py ---------
# The environment may override any of them (a number; the type is the default's).
for _name, _default in LIMIT_DEFAULTS.items():
    if _name in os.environ:
        globals()[_name] = type(_default)(os.environ[_name])
# /api/schema/ and /api/docs/ need a sign-in (session or token) unless this is on.
DAYFLOW_PUBLIC_API_DOCS = env_bool("DAYFLOW_PUBLIC_API_DOCS", False)

# django-axes: the limits above, its database handler (rows staff see and delete in the admin),
# the (username, IP) pair first and the IP alone second (dayflow.lockout.LoginLockout).
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_HANDLER = "dayflow.lockout.LoginLockout"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = "dayflow.lockout.failure_limit"
AXES_COOLOFF_TIME = "dayflow.lockout.cooloff"
AXES_CLIENT_IP_CALLABLE = "dayflow.lockout.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dayflow.lockout.locked_out"
AXES_VERBOSE = False
# Sign-ins and sign-outs are in the audit trail already (auth.login, auth.logout): no second,
# unbounded log of them in axes' AccessLog.
AXES_DISABLE_ACCESS_LOG = True

# django-csp 4: no inline script or style anywhere (static/js/ holds the pages' scripts); the
# API docs page alone adds its inline style (dayflow/api/docs.py). No `form-action`: Chromium
# applies it to the redirect after a POST, and "Connect" posts, then goes to the service.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env_bool("DAYFLOW_PLAIN_STATIC")
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous request then answers 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dayflow.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["dayflow.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "dayflow.api.pagination.CursorPage",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "dayflow.api.throttling.PerUser",
        "dayflow.api.throttling.PerToken",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("DAYFLOW_API_RATE_USER", "1200/min"),
        "token": os.environ.get("DAYFLOW_API_RATE_TOKEN", "600/min"),
        "sync_start": os.environ.get("DAYFLOW_API_RATE_SYNC_START", "30/min"),
        "exports": os.environ.get("DAYFLOW_API_RATE_EXPORTS", "10/hour"),
    },
    "EXCEPTION_HANDLER": "dayflow.api.errors.handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# django-rest-knox: our own token model (named, last used, its id in URLs); no expiry unless the
# person sets one; a recognisable prefix, so secret scanners can spot a leaked token.
KNOX_TOKEN_MODEL = "dayflow.ApiToken"
# knox's own migrations create its `knox_authtoken` table whatever the swap says (they predate
# its swappable model); an unused table with a key to auth_user then breaks every flush on
# PostgreSQL. With no migrations, its swapped-out model gets no table at all.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": None,
    "TOKEN_PREFIX": "dayflow_",
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DayFlow Integrations API",
    "DESCRIPTION": (
        "Everything a person can do in DayFlow's pages, for scripts and apps. Authenticate with "
        "a personal API token (`Authorization: Token <token>`), made on the API tokens page or "
        "at `/api/tokens`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation's 400, 401, 404 and 429 described once (dayflow/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "dayflow.api.schema.document_errors",
    ],
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Swagger UI's assets are served from our static files, not a CDN: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several resources have a `status` or `resolution`: each its own enum, named for it.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "sync.models.SyncJob.Status",
        "ConflictStatusEnum": "sync.models.Conflict.Status",
        "ConflictResolutionEnum": "sync.models.Conflict.Resolution",
        "ResolutionSideEnum": ["local", "remote"],
        "ConnectionStatusEnum": "integrations.models.Connection.Status",
        "JobKindEnum": "sync.models.SyncJob.Kind",
        "TaskStatusEnum": "dayflow.models.Task.Status",
        "EventStatusEnum": "dayflow.models.Event.Status",
    },
}

# --- Integrations: per-service OAuth client credentials ------------------------------------
# Each service's credentials come from <PREFIX>_CLIENT_ID / <PREFIX>_CLIENT_SECRET, where the
# prefix is the service key in upper case with dashes as underscores (GOOGLE_CALENDAR_CLIENT_ID).
# The keys come from the registry, so a new service cannot be left out here and stay "not
# configured" with no error; services that connect without OAuth (CalDAV) simply get no values.
DAYFLOW_OAUTH_CLIENTS = {
    key: {
        "client_id": os.environ.get(f"{key.upper().replace('-', '_')}_CLIENT_ID", ""),
        "client_secret": os.environ.get(f"{key.upper().replace('-', '_')}_CLIENT_SECRET", ""),
    }
    for key in REGISTRY
}

# --- The sandbox: which services are reached at an emulator (integrations/service_urls.py) ---
# A service is sandboxed when the sandbox is on and its real OAuth client is not configured; it
# then gets the emulator's base URL and a sandbox client, the one `manage.py sandbox_clients`
# registers there. A service with real client credentials uses the real service.
SANDBOX_OAUTH_SERVICES = ("todoist", "google-calendar", "notion", "linear", "clickup", "outlook")
SANDBOX_CALDAV_SERVICES = ("apple-calendar", "fastmail")
# The Radicale server run.py starts for the CalDAV services, "" when none runs.
DAYFLOW_SANDBOX_CALDAV_URL = os.environ.get("DAYFLOW_SANDBOX_CALDAV_URL", "")
# Where that server keeps its collections: a user made while it runs gets an account there.
DAYFLOW_SANDBOX_CALDAV_FOLDER = os.environ.get("DAYFLOW_SANDBOX_CALDAV_FOLDER", "")
DAYFLOW_SERVICE_URLS: dict[str, str] = {}
if DAYFLOW_SANDBOX:
    for _key in SANDBOX_OAUTH_SERVICES:
        if not DAYFLOW_OAUTH_CLIENTS[_key]["client_id"]:
            DAYFLOW_SERVICE_URLS[_key] = f"{PUBLIC_URL}/sandbox/{_key}"
            DAYFLOW_OAUTH_CLIENTS[_key] = sandbox_client(SECRET_KEY, _key)
    if DAYFLOW_SANDBOX_CALDAV_URL:
        DAYFLOW_SERVICE_URLS |= dict.fromkeys(SANDBOX_CALDAV_SERVICES, DAYFLOW_SANDBOX_CALDAV_URL)
    # The emulators send each webhook on a thread after the change commits; beat sends any
    # left behind (integrations/sandbox/tasks.py).
    CELERY_BEAT_SCHEDULE["sandbox-deliver-webhooks"] = {
        "task": "sandbox.deliver_webhooks",
        "schedule": 10.0,
    }
if "linear" in DAYFLOW_SERVICE_URLS and not WEBHOOKS_LINEAR_APP_SECRET:
    # The sandbox's Linear signs its app webhook with this; sandbox_clients registers it.
    WEBHOOKS_LINEAR_APP_SECRET = sandbox_client(SECRET_KEY, "linear-webhook")["client_secret"]
DAYFLOW_MIN_SYNC_INTERVAL = int(os.environ.get("DAYFLOW_MIN_SYNC_INTERVAL", 5))
# CalDAV servers on private or loopback addresses, or over plain http (integrations/netguard.py).
DAYFLOW_ALLOW_PRIVATE_SERVERS = env_bool("DAYFLOW_ALLOW_PRIVATE_SERVERS", False)
# The one exception to those rules without lifting them: the sandbox's own CalDAV server.
DAYFLOW_TRUSTED_SERVERS = (
    (DAYFLOW_SANDBOX_CALDAV_URL,)
    if any(k in DAYFLOW_SERVICE_URLS for k in SANDBOX_CALDAV_SERVICES)
    else ()
)

# Outbound requests per connection, "clickup=1000/60,notion=3/1" (requests/seconds), overriding
# a provider's documented rate (integrations.providers.http), e.g. for ClickUp Business Plus.
DAYFLOW_RATE_LIMITS: dict[str, tuple[int, float]] = {}
for _item in env_list("DAYFLOW_RATE_LIMITS"):
    _service, _, _rate = _item.partition("=")
    _limit, _, _per = _rate.partition("/")
    DAYFLOW_RATE_LIMITS[_service.strip()] = (int(_limit), float(_per or 1))

# --- Sync engine: each setting's default and meaning are in sync/conf.py ----------------------
# The environment may override any of them (a number; the type is the default's).
for _name, _type in (
    ("DAYFLOW_SYNC_MASS_DELETE_SHARE", float),
    ("DAYFLOW_SYNC_MASS_DELETE_MIN", int),
    ("DAYFLOW_SYNC_BATCH", int),
    ("DAYFLOW_SYNC_JOB_LEASE", int),
    ("DAYFLOW_SYNC_LOCAL_DELAY", float),
):
    if _name in os.environ:
        _value = os.environ[_name].strip().lower()
        # "off": a DayFlow change waits for the next scheduled sync (sync/conf.py).
        globals()[_name] = None if _value == "off" else _type(_value)

# --- Audit log: django-auditlog must never see secret fields --------------------------------
AUDITLOG_INCLUDE_ALL_MODELS = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
