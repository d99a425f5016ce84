"""ModelPulse settings: environment variables only.

Production sets DATABASE_URL, REDIS_URL and SECRET_KEY. With none of them set the
product runs in embedded mode (see config/embedded.py), which creates its own secret
under the data folder. DEBUG is off unless DEBUG=true.
"""
import ipaddress
import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DATA_DIR = Path(env("MODELPULSE_DATA_DIR", default=str(BASE_DIR / ".data")))
DEBUG = env.bool("DEBUG", default=False)

_database_url = env("DATABASE_URL", default="")
EMBEDDED_DATABASE = not _database_url
if EMBEDDED_DATABASE:
    DATABASES = {"default": embedded.database_settings(DATA_DIR)}
else:
    DATABASES = {"default": env.db_url_config(_database_url)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The product's queries each run for milliseconds; PostgreSQL's JIT compiles any plan whose
# estimate passes jit_above_cost, which took ~1 s a query on rollup merges and
# dashboard reads (bench/RESULTS.md, 2026-11-23). Off for our sessions only.
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options["options"] = (_options.get("options", "") + " -c jit=off").strip()

# Streaming replicas (docs/scaling.md): DATABASE_REPLICA_URLS, comma-separated, adds the
# aliases replica_0, replica_1, … Read-only paths (metrics, screens, explorer, exports,
# reports) read from a healthy one through config/db_router.py; everything that writes
# stays on default. A replica more than MODELPULSE_REPLICA_MAX_LAG seconds behind, or not
# answering, is skipped; its health is checked at most every MODELPULSE_REPLICA_CHECK_SECONDS
# per process. With no replica configured DATABASES holds default alone and nothing changes.
DATABASE_REPLICA_URLS = [u.strip() for u in env("DATABASE_REPLICA_URLS", default="").split(",") if u.strip()]
MODELPULSE_REPLICA_MAX_LAG = env.float("MODELPULSE_REPLICA_MAX_LAG", default=30.0)
MODELPULSE_REPLICA_CHECK_SECONDS = env.float("MODELPULSE_REPLICA_CHECK_SECONDS", default=5.0)
for _index, _url in enumerate(DATABASE_REPLICA_URLS):
    _replica = env.db_url_config(_url)
    _replica["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    _replica["CONN_HEALTH_CHECKS"] = True
    _replica_options = _replica.setdefault("OPTIONS", {})
    _replica_options["options"] = (_replica_options.get("options", "") + " -c jit=off").strip()
    # A replica that does not answer is skipped; this bounds how long finding that out takes.
    _replica_options.setdefault("connect_timeout", 3)
    # The test runner must never create or flush a database on a replica: it mirrors default.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_index}"] = _replica
DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]

REDIS_URL = env("REDIS_URL", default="") or embedded.redis_url(DATA_DIR)
EMBEDDED_REDIS = not env("REDIS_URL", default="")

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if EMBEDDED_DATABASE:
        SECRET_KEY = embedded.secret_key(DATA_DIR)
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "config.error_views.csrf_failure"
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# Behind TLS, browsers are told to use https only (sent on https responses).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000) if BEHIND_TLS_PROXY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy: everything the console and the API docs load comes from our own
# origin, and no page runs inline script. Styles allow 'unsafe-inline': the templates set
# layout through style attributes (widths of bars, colours of series) and the API docs
# pages (drf-spectacular's Swagger UI and ReDoc templates) carry inline <style> blocks.
# blob: workers are ReDoc's search.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        # 'self': the console frames its own report previews and mail bodies; no other
        # origin may frame any page.
        "frame-ancestors": ["'self'"],
    },
}

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one e-mail,
# or from one client address, sign-in is refused for AXES_COOLOFF_MINUTES. Each failure and
# each lockout is written to the security log and to the audit log of the user's accounts.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_MINUTES = env.float("AXES_COOLOFF_MINUTES", default=15.0)
AXES_COOLOFF_TIME = AXES_COOLOFF_MINUTES / 60.0  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "accounts.signin_throttle.client_address"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "models_registry",
    "traces",
    "analytics",
    "alerts",
    "dashboards",
    "budgets",
    "outbox",
    "axes",
]

MIDDLEWARE = [
    "config.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ResetTimezoneMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.console",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Finders serve static files without collectstatic, so a fresh clone works.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Static files are served from the finders; an uncollected STATIC_ROOT is expected.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1) if REDIS_URL.startswith("unix://") else REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Named queues, so an operator can run `celery -A config worker -Q exports` on hosts of their
# own; a worker started without -Q (and `manage.py start`) consumes all of them. A task left
# out of the routes lands in `maintenance`, which every full worker consumes, never in a
# queue nobody reads.
JOB_QUEUES = ("rollups", "exports", "alerts", "deliveries", "reports", "maintenance")
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in JOB_QUEUES]
CELERY_TASK_DEFAULT_QUEUE = "maintenance"
CELERY_TASK_ROUTES = {
    "analytics.tasks.*": {"queue": "rollups"},
    "traces.tasks.export_run_task": {"queue": "exports"},
    "alerts.tasks.alerts_evaluate_task": {"queue": "alerts"},
    "budgets.tasks.*": {"queue": "alerts"},
    "alerts.tasks.delivery_send_task": {"queue": "deliveries"},
    "alerts.tasks.report*": {"queue": "reports"},
}
# A message is acknowledged once its task has returned, and given back to the queue when the
# worker process running it dies, so a lost worker never loses a job silently. Every task is
# safe to run twice (row claims, row locks, advisory locks). With Redis an unacknowledged
# message of a worker host that vanished comes back only after the visibility timeout: it
# must outlast the longest countdown (a delivery's backoff is at most an hour), and the fast
# path back is the recovery task below, which finds silent jobs from their rows.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("JOBS_VISIBILITY_TIMEOUT_SECONDS", default=7200)}
# A running export touches its heartbeat every EXPORT_HEARTBEAT_SECONDS; one silent for
# JOBS_STALE_SECONDS lost its worker and is queued again (or failed after
# EXPORT_MAX_ATTEMPTS). The recovery task runs every JOBS_RECOVER_INTERVAL_SECONDS: a job is
# back in a queue within JOBS_STALE_SECONDS + JOBS_RECOVER_INTERVAL_SECONDS (90 s by default).
EXPORT_HEARTBEAT_SECONDS = env.float("EXPORT_HEARTBEAT_SECONDS", default=10.0)
EXPORT_MAX_ATTEMPTS = env.int("EXPORT_MAX_ATTEMPTS", default=3)
JOBS_STALE_SECONDS = env.float("JOBS_STALE_SECONDS", default=60.0)
JOBS_RECOVER_INTERVAL_SECONDS = env.float("JOBS_RECOVER_INTERVAL_SECONDS", default=30.0)
# A report whose e-mail failed is tried again after REPORT_RETRY_SECONDS × 2^(attempts − 1).
REPORT_RETRY_SECONDS = env.float("REPORT_RETRY_SECONDS", default=300.0)
ROLLUP_INTERVAL_SECONDS = env.float("ROLLUP_INTERVAL_SECONDS", default=60.0)
ALERT_EVALUATION_INTERVAL_SECONDS = env.float("ALERT_EVALUATION_INTERVAL_SECONDS", default=60.0)
REPORTS_INTERVAL_SECONDS = env.float("REPORTS_INTERVAL_SECONDS", default=300.0)
BUDGETS_INTERVAL_SECONDS = env.float("BUDGETS_INTERVAL_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE = {
    # Every periodic task expires, so a backlog after downtime never replays stale runs.
    "rollup-dirty-hours": {"task": "analytics.tasks.rollup_dirty_task", "schedule": ROLLUP_INTERVAL_SECONDS,
                           "options": {"expires": ROLLUP_INTERVAL_SECONDS * 0.9}},
    "delete-expired-traces": {"task": "traces.tasks.traces_retention_task", "schedule": 3600.0,
                              "options": {"expires": 3000}},
    # Monthly partitions of traces_trace, created months ahead (no DEFAULT partition to fall into).
    "create-trace-partitions": {"task": "traces.tasks.traces_partitions_task", "schedule": 86400.0,
                                "options": {"expires": 3600}},
    "alerts-evaluate": {"task": "alerts.tasks.alerts_evaluate_task", "schedule": ALERT_EVALUATION_INTERVAL_SECONDS,
                        "options": {"expires": ALERT_EVALUATION_INTERVAL_SECONDS * 0.9}},
    "reports-send-due": {"task": "alerts.tasks.reports_send_due_task", "schedule": REPORTS_INTERVAL_SECONDS,
                         "options": {"expires": REPORTS_INTERVAL_SECONDS * 0.9}},
    "budgets-check": {"task": "budgets.tasks.budgets_check_task", "schedule": BUDGETS_INTERVAL_SECONDS,
                      "options": {"expires": BUDGETS_INTERVAL_SECONDS * 0.9}},
    "clean-up-exports": {"task": "traces.tasks.exports_cleanup_task", "schedule": 3600.0,
                         "options": {"expires": 3000}},
    "recover-exports": {"task": "traces.tasks.exports_recover_task", "schedule": JOBS_RECOVER_INTERVAL_SECONDS,
                        "options": {"expires": JOBS_RECOVER_INTERVAL_SECONDS * 0.9}},
    "recover-alert-jobs": {"task": "alerts.tasks.alerts_recover_task", "schedule": JOBS_RECOVER_INTERVAL_SECONDS,
                           "options": {"expires": JOBS_RECOVER_INTERVAL_SECONDS * 0.9}},
    "demo-live-traffic": {"task": "traces.tasks.demo_live_task", "schedule": 60.0, "options": {"expires": 54}},
}
# The demo account's live traffic (traces/demo_live.py); `start --no-demo` turns it off.
DEMO_LIVE = env.bool("MODELPULSE_DEMO_LIVE", default=True)

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://localhost:25")
vars().update(EMAIL_CONFIG)
# EMAIL_HOST / EMAIL_PORT (and EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS) override EMAIL_URL.
if env("EMAIL_HOST", default=""):
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="ModelPulse <modelpulse@localhost>")
# GET /metrics asks for this bearer token when it is set (docs/deployment.md).
METRICS_TOKEN = env("MODELPULSE_METRICS_TOKEN", default="")
# Set by `manage.py start` when it runs the local SMTP outbox (no EMAIL_URL/EMAIL_HOST given).
OUTBOX_ENABLED = env.bool("MODELPULSE_OUTBOX", default=False)

# Alerts and reports (L2, L3, L7). Links in notifications and reports point at MODELPULSE_BASE_URL.
MODELPULSE_BASE_URL = env("MODELPULSE_BASE_URL", default="http://127.0.0.1:8000")
ALERT_DELIVERY_MAX_ATTEMPTS = env.int("ALERT_DELIVERY_MAX_ATTEMPTS", default=5)
ALERT_DELIVERY_BACKOFF_SECONDS = env.float("ALERT_DELIVERY_BACKOFF_SECONDS", default=30.0)
ALERT_HTTP_TIMEOUT_SECONDS = env.float("ALERT_HTTP_TIMEOUT_SECONDS", default=10.0)
PAGERDUTY_EVENTS_URL = env("PAGERDUTY_EVENTS_URL", default="https://events.pagerduty.com/v2/enqueue")
# Outbound requests (config/outbound.py) never go to loopback, private, link-local, CGNAT,
# multicast or reserved addresses, except into these networks (comma-separated CIDRs), for
# receivers inside the operator's own network.
MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = env.list("MODELPULSE_WEBHOOK_ALLOWED_NETWORKS", default=[])
try:
    [ipaddress.ip_network(n.strip(), strict=False) for n in MODELPULSE_WEBHOOK_ALLOWED_NETWORKS]
except ValueError as exc:
    raise ImproperlyConfigured(f"MODELPULSE_WEBHOOK_ALLOWED_NETWORKS: {exc}") from None

# Trace exports (X5): rows per COPY chunk (progress and cancellation are checked between
# chunks), how long finished files are kept, and how many a user or key may run at once.
EXPORT_CHUNK_ROWS = env.int("EXPORT_CHUNK_ROWS", default=50000)
EXPORT_RETENTION_HOURS = env.int("EXPORT_RETENTION_HOURS", default=168)
EXPORT_MAX_ACTIVE_PER_CREATOR = env.int("EXPORT_MAX_ACTIVE_PER_CREATOR", default=3)

# Reads through the API (GET/HEAD/OPTIONS): requests per minute per API key (or per signed-in
# user); 429 with Retry-After past it. 0 turns the limit off.
API_READ_RATE_LIMIT_PER_MINUTE = env.int("API_READ_RATE_LIMIT_PER_MINUTE", default=600)
# Ingestion (I6): requests per minute per API key; 0 turns the limit off.
INGEST_RATE_LIMIT_PER_MINUTE = env.int("INGEST_RATE_LIMIT_PER_MINUTE", default=1200)
# Ingestion reads its body itself (10 MiB cap checked before reading); elsewhere keep Django's guard.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.authentication.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.ReadRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["accounts.json_io.SafeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["accounts.json_io.TextJSONParser"],
    "DEFAULT_METADATA_CLASS": "accounts.metadata.ApiMetadata",
    "DEFAULT_SCHEMA_CLASS": "accounts.schema.ModelPulseAutoSchema",
    "EXCEPTION_HANDLER": "accounts.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "accounts.pagination.CappedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ModelPulse API",
    "DESCRIPTION": "Analytics for LLM and model traffic. Authenticate with `Authorization: Bearer <api key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Export jobs and fine-tuning jobs share one status set.
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "traces.models.ExportJob.Status",
                            "ChannelKindEnum": "alerts.models.ChannelKind"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {"format": "ts=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
