"""The one settings module. Runs differ only by environment variables (see the README's table)."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-dev-only-key" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "statux",
    "analyses",
    "rca",
    "webhooks",
    "usage",
    "remediation",
]

MIDDLEWARE = [
    "statux.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "statux.console.middleware.ConsoleOrganizationMiddleware",
]

ROOT_URLCONF = "statux.urls"
WSGI_APPLICATION = "statux.wsgi.application"
APPEND_SLASH = False  # every API path is served with and without its slash by statux.urls.both_slashes

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
                "statux.console.context.console",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'statux.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded run serves requests on threads: take the write lock up front and wait for it, and
    # give tests a file database, since threads cannot share one in-memory connection safely.
    DATABASES["default"].setdefault("OPTIONS", {}).update(transaction_mode="IMMEDIATE", timeout=20)
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("SQLITE_TEST_NAME", default=str(BASE_DIR / "var" / "test-statux.sqlite3"))
    }

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "statux.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "console:login"
# Password guessing: failed sign-ins per account and client address within the window lock that pair
# out (console, admin and token issuance alike) until the window has passed.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)
LOGIN_REDIRECT_URL = "console:dashboard"
LOGOUT_REDIRECT_URL = "console:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

# Security: on by default when DEBUG is off; each can be turned off for a plain-HTTP lab.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health/?$", r"^api/v1/health/?$", r"^metrics/?$"]
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("USE_X_FORWARDED_PROTO", True) else None
)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Statux Insights <noreply@localhost>")

# Reverse proxies in front of the app that append the client's address to X-Forwarded-For. 0: the
# socket's address is the client's (anything in X-Forwarded-For is the client's own claim). Audit logs,
# rate limits and the sign-in lockout all read the address through statux.audit.client_ip.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

REST_FRAMEWORK = {
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "statux.authentication.ApiKeyAuthentication",
        "statux.authentication.OrgJWTAuthentication",
        "statux.authentication.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["statux.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "client": env.str("API_RATE_LIMIT", default="1200/min"),
        "anon": env.str("API_ANON_RATE_LIMIT", default="120/min"),
        "insights": env.str("INSIGHTS_RATE_LIMIT", default="100/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "statux.api.schema.StatuxAutoSchema",
    "DEFAULT_FILTER_BACKENDS": [],
    "EXCEPTION_HANDLER": "statux.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Statux Insights API",
    "DESCRIPTION": (
        "Five documented surfaces over one domain model: Statux Insights (/api/v1/organizations/…), "
        "AIops Engine (/api/v1/…), AI-SRE (root paths), Incidents (/api/alerts/…) and AI Insights "
        "(/api/insights/…). Errors are JSON {error, code[, fields, retry_after]}."
    ),
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "PREPROCESSING_HOOKS": ["statux.api.schema.drop_trailing_slash_twins"],
    "ENUM_NAME_OVERRIDES": {
        "AnalysisStatusEnum": "analyses.models.AnalysisStatus",
        "AnalysisSourceProductEnum": "analyses.models.SourceProduct",
        "WebhookSourceProductEnum": "webhooks.models.SourceProduct",
        "IncidentStatusEnum": "analyses.models.IncidentStatus",
        "RcaStatusEnum": "rca.models.RcaStatus",
        "RcaGenerationStatusEnum": "rca.models.GenerationStatus",
        "RcaIncidentProductEnum": "rca.models.IncidentProduct",
        "ActionItemStatusEnum": "rca.models.ActionItemStatus",
        "ActionItemPriorityEnum": "rca.models.ActionItemPriority",
    },
}

# Celery: without REDIS_URL, tasks run in-process (the embedded mode).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
WATCHDOG_INTERVAL_SECONDS = env.int("WATCHDOG_INTERVAL_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    "statux-watchdog": {"task": "statux.watchdog_tick", "schedule": float(WATCHDOG_INTERVAL_SECONDS)},
    "analyses-requeue-stuck": {"task": "analyses.requeue_stuck_analyses", "schedule": 120.0},
    "rca-requeue-stuck": {"task": "rca.requeue_stuck_generations", "schedule": 120.0},
    "analyses-learn-service-correlations": {
        "task": "analyses.learn_service_correlations",
        "schedule": 3600.0,
    },
}

# Tenancy and keys.
DEFAULT_ORGANIZATION = env.str("DEFAULT_ORGANIZATION", default="default")
AI_SRE_API_KEYS = env.list("AI_SRE_API_KEYS", default=[])
ALERTMANAGER_DEFAULT_TENANT = env.str("ALERTMANAGER_DEFAULT_TENANT", default="")
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)

# AI provider chain (analyses, later issues); status reports what is configured.
AI_PROVIDER = env.str("AI_PROVIDER", default="deterministic")
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
BEDROCK_MODEL_ID = env.str("BEDROCK_MODEL_ID", default="anthropic.claude-3-5-sonnet-20240620-v1:0")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="")
# After AI_PROVIDER, in order; the deterministic engine always ends the chain.
AI_PROVIDER_FALLBACKS = env.list("AI_PROVIDER_FALLBACKS", default=[])
AI_REQUEST_TIMEOUT_SECONDS = env.float("AI_REQUEST_TIMEOUT_SECONDS", default=30.0)
AI_MAX_RETRIES = env.int("AI_MAX_RETRIES", default=3)
AI_MAX_OUTPUT_TOKENS = env.int("AI_MAX_OUTPUT_TOKENS", default=1200)
# Analysis pipeline: auto-trigger, cache, context sources (Issue 5).
ANALYSIS_AUTO_MIN_SEVERITY = env.str("ANALYSIS_AUTO_MIN_SEVERITY", default="warning")  # or "off"
ANALYSIS_CACHE_TTL_SECONDS = env.int("ANALYSIS_CACHE_TTL_SECONDS", default=3600)
# loki, elastic, datadog, mock; empty: no logs. The embedded demo (DEBUG) reads made-up lines from `mock`.
LOG_BACKEND = env.str("LOG_BACKEND", default="mock" if DEBUG else "")
LOKI_URL = env.str("LOKI_URL", default="")
LOKI_SERVICE_LABEL = env.str("LOKI_SERVICE_LABEL", default="app")
ELASTIC_URL = env.str("ELASTIC_URL", default="")
ELASTIC_INDEX = env.str("ELASTIC_INDEX", default="logs-*")
ELASTIC_API_KEY = env.str("ELASTIC_API_KEY", default="")
ELASTIC_SERVICE_FIELD = env.str("ELASTIC_SERVICE_FIELD", default="service.name")
DATADOG_API_URL = env.str("DATADOG_API_URL", default="https://api.datadoghq.com")
DATADOG_API_KEY = env.str("DATADOG_API_KEY", default="")
DATADOG_APP_KEY = env.str("DATADOG_APP_KEY", default="")
LOG_REQUEST_TIMEOUT_SECONDS = env.float("LOG_REQUEST_TIMEOUT_SECONDS", default=5.0)
# off: no cluster context; incluster: the pod's service account; kubeconfig: KUBECONFIG's file.
KUBERNETES_MODE = env.str("KUBERNETES_MODE", default="off")
KUBECONFIG = env.str("KUBECONFIG", default="")
KUBERNETES_CONTEXT = env.str("KUBERNETES_CONTEXT", default="")
KUBERNETES_REQUEST_TIMEOUT_SECONDS = env.float("KUBERNETES_REQUEST_TIMEOUT_SECONDS", default=5.0)

# Policy engine defaults, used where an organization has no guardrail policy of its own.
REMEDIATION_ALLOWED_NAMESPACES = env.list("REMEDIATION_ALLOWED_NAMESPACES", default=["*"])
REMEDIATION_APPROVAL_REQUIRED_ACTIONS = env.list(
    "REMEDIATION_APPROVAL_REQUIRED_ACTIONS", default=["restart_pod", "scale_deployment"]
)
REMEDIATION_AUTO_EXECUTE_ACTIONS = env.list("REMEDIATION_AUTO_EXECUTE_ACTIONS", default=["restart_pod"])
REMEDIATION_DRY_RUN_DEFAULT = env.bool("REMEDIATION_DRY_RUN_DEFAULT", default=True)
REMEDIATION_MAX_REPLICAS = env.int("REMEDIATION_MAX_REPLICAS", default=20)

# Usage budgets and billing (Issue 5). Limits per plan; an organization may override them.
BILLING_PROVIDER = env.str("BILLING_PROVIDER", default="self_hosted")  # or "stripe"
STRIPE_API_KEY = env.str("STRIPE_API_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")  # empty: Stripe's own API
STRIPE_PRICE_IDS = env.dict("STRIPE_PRICE_IDS", default={})  # plan=price id, e.g. team=price_123
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")  # whsec_…; empty: webhooks refused
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
USAGE_THRESHOLDS_PERCENT = env.list("USAGE_THRESHOLDS_PERCENT", cast=int, default=[80, 100])
AI_COST_PER_1K_INPUT_TOKENS = env.float("AI_COST_PER_1K_INPUT_TOKENS", default=0.003)
AI_COST_PER_1K_OUTPUT_TOKENS = env.float("AI_COST_PER_1K_OUTPUT_TOKENS", default=0.015)
STATUS_CHECK_TIMEOUT_SECONDS = env.float("STATUS_CHECK_TIMEOUT_SECONDS", default=1.0)

# Ingestion, dedup and grouping (webhooks, analyses).
INGEST_MAX_BODY_BYTES = env.int("INGEST_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BODY_BYTES
INGEST_MAX_RETRIES = env.int("INGEST_MAX_RETRIES", default=6)
INCIDENT_GROUP_WINDOW_MINUTES = env.int("INCIDENT_GROUP_WINDOW_MINUTES", default=10)
DEDUP_TITLE_SERVICE_WINDOW_MINUTES = env.int("DEDUP_TITLE_SERVICE_WINDOW_MINUTES", default=30)
WEBHOOK_SIGNATURE_TOLERANCE_SECONDS = env.int("WEBHOOK_SIGNATURE_TOLERANCE_SECONDS", default=300)

PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
