"""Settings for every environment. Small overrides live beside this file (``test.py``)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.environment import read_environment

BASE_DIR = Path(__file__).resolve().parent.parent.parent
ENV = read_environment()
if ENV.problems:
    raise ImproperlyConfigured("; ".join(str(p) for p in ENV.problems))

DATA_DIR = ENV.data_dir
SECRET_KEY = ENV.secret_key
DEBUG = os.environ.get("TELESALES_DEBUG", "").lower() in {"1", "true", "yes"}
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
#: A stale form's token: a translated 403 that says what to do (core.views.csrf_failure_view).
CSRF_FAILURE_VIEW = "telesales.core.views.csrf_failure_view"
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_htmx",
    "template_partials",
    "axes",
    "telesales.core",
    "telesales.org",
    "telesales.leads",
    "telesales.policies",
    "telesales.operations",
    "telesales.tickets",
    "telesales.calls",
    "telesales.compensation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "telesales.core.middleware.ApiErrorShapeMiddleware",
    "telesales.core.middleware.OutOfRangeIdMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "telesales.core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "telesales" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "telesales.core.context_processors.navigation",
            ],
        },
    }
]

# --- Database: SQLite in the data directory unless DATABASE_URL says otherwise -------------
if ENV.database_url:
    DATABASES = {"default": dj_database_url.parse(ENV.database_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "telesales.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication ----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = ENV.numbers["TELESALES_LOGIN_FAILURE_LIMIT"]
AXES_COOLOFF_TIME = timedelta(minutes=ENV.numbers["TELESALES_LOGIN_COOLOFF_MINUTES"])
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "telesales.core.lockout.lockout_response"
AXES_VERBOSE = False

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "telesales" / "locale"]
TIME_ZONE = ENV.time_zone
USE_I18N = True
USE_TZ = True

# --- Static files (WhiteNoise; vendored assets, no CDN) -----------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "telesales" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"

# --- Security defaults (served behind a reverse proxy in production) ----------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Celery (ADR 0005): Redis in production, a broker in the data directory otherwise -----
CELERY_DATA_DIR = DATA_DIR / "celery"
if ENV.broker_url:
    CELERY_BROKER_URL = ENV.broker_url
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", ENV.broker_url)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{CELERY_DATA_DIR / 'results'}"
    for _folder in ("queue", "processed", "results", "control"):
        (CELERY_DATA_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {
    "core-api-token-purge": {"task": "core.api_token_purge_task", "schedule": 24 * 3600},
    "leads-recycle": {"task": "leads.leads_recycle_task", "schedule": 3600},
    "leads-retention": {"task": "leads.leads_retention_task", "schedule": 24 * 3600},
    "calls-followups-escalate": {"task": "calls.followups_escalate_task", "schedule": 15 * 60},
    "calls-followups-reassign": {"task": "calls.followups_reassign_task", "schedule": 3600},
    "calls-presences-reset-stale": {
        "task": "calls.presences_reset_stale_task",
        "schedule": 3600,
    },
    "operations-daily": {"task": "operations.operations_daily_task", "schedule": 3600},
    "tickets-escalate": {"task": "tickets.tickets_escalate_task", "schedule": 300},
    # The open pay periods' basis (ADR 0017): a pay run computes only what changed since.
    "compensation-paybasis-upkeep": {
        "task": "compensation.paybasis_upkeep_task",
        "schedule": 10 * 60,
    },
    "policies-free-look-close": {
        "task": "policies.policies_free_look_close_task",
        "schedule": 3600,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_DATA_DIR / "beat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TELESALES_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

TELESALES_API_TOKEN_DAYS = ENV.numbers["TELESALES_API_TOKEN_DAYS"]
WEB_CONCURRENCY = ENV.numbers["WEB_CONCURRENCY"]
# Key of phone_hash(); when unset, telesales.core.phone_numbers keeps one in DATA_DIR.
TELESALES_PHONE_HASH_KEY = os.environ.get("TELESALES_PHONE_HASH_KEY", "").strip() or None
TELESALES_BENCHMARK_MODULES = [
    "bench.org_people",
    "bench.leads_import",
    "bench.calls_dispatch",
    "bench.compensation_payrun",
]
# Lead and DNC imports refuse larger files before reading them (bytes; default 200 MB).
TELESALES_IMPORT_MAX_BYTES = ENV.numbers["TELESALES_IMPORT_MAX_BYTES"]
# Lead exports refuse a filter that matches more rows than this (they are audited and capped).
TELESALES_EXPORT_MAX_ROWS = ENV.numbers["TELESALES_EXPORT_MAX_ROWS"]
# Uploaded lead files (and the raw rows of their rejection reports) are deleted this many days
# after the import finished (PIPL Art. 19: shortest necessary retention).
TELESALES_IMPORT_FILE_DAYS = ENV.numbers["TELESALES_IMPORT_FILE_DAYS"]
# A lead batch queued this long without a worker starting its import is shown as waiting too
# long, and its import may be queued again from its page (minutes; default 10).
TELESALES_IMPORT_QUEUE_MINUTES = ENV.numbers["TELESALES_IMPORT_QUEUE_MINUTES"]
# A pay-run job queued or running without news for this long is abandoned (its worker is gone).
TELESALES_PAYRUN_STALE_MINUTES = ENV.numbers["TELESALES_PAYRUN_STALE_MINUTES"]
TELESALES_PHONE_REVEAL_ROLES = ENV.reveal_roles
#: The same ticket submitted again by the same person within this many minutes is the first
#: one submitted twice (a double click, a reload), not a new ticket.
TELESALES_TICKET_DUPLICATE_MINUTES = ENV.numbers["TELESALES_TICKET_DUPLICATE_MINUTES"]
#: A pay adjustment larger than this either way (whole yuan) is refused as a typo.
TELESALES_PAY_ADJUSTMENT_LIMIT = ENV.numbers["TELESALES_PAY_ADJUSTMENT_LIMIT"]
# Forms that list a whole center (the month's attendance: two fields a person) post more than
# Django's default 1,000 fields; 10,000 still refuses a flood (the API answers 413).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
# An adjustment above this many times the person's last approved monthly total (or, without one,
# above the ceiling in yuan) is recorded only once confirmed.
TELESALES_PAY_ADJUSTMENT_CONFIRM_FACTOR = ENV.numbers["TELESALES_PAY_ADJUSTMENT_CONFIRM_FACTOR"]
TELESALES_PAY_ADJUSTMENT_CONFIRM_CEILING = ENV.numbers["TELESALES_PAY_ADJUSTMENT_CONFIRM_CEILING"]
#: A call open longer than this (minutes) is marked on the live board as probably not hung up,
#: and hanging it up counts at most this much talk time (``calls.models.open_call_limit``).
TELESALES_CALL_OPEN_LIMIT_MINUTES = ENV.numbers["TELESALES_CALL_OPEN_LIMIT_MINUTES"]
#: How far ahead of the server's clock a call time sent by a softphone or switch may be
#: (seconds; their clocks drift): a later time is refused (``calls.schemas.CallTime``).
TELESALES_CALL_CLOCK_SKEW_SECONDS = ENV.numbers["TELESALES_CALL_CLOCK_SKEW_SECONDS"]
#: The telephony adapter (a dotted path to a ``calls.telephony.Adapter`` class); empty: the
#: simulated one. Checked when first used (``calls.telephony.get_adapter``).
TELESALES_TELEPHONY_ADAPTER = os.environ.get("TELESALES_TELEPHONY_ADAPTER", "").strip()
# Good / warn / bad of the dashboard indicator cards (telesales.core.dashboard.status_for), in
# the unit each card shows. "lower" is better: value <= good is good, <= warn is warn, above is
# bad; "higher" is better: >= good is good, >= warn is warn, below is bad.
TELESALES_DASHBOARD_THRESHOLDS: dict[str, dict] = {
    # complaints per 1,000 policies in force (‰)
    "tickets.complaint_rate": {"better": "lower", "good": "1.00", "warn": "3.00"},
    # kept past the free-look window, % of the settled policies issued in the period
    "policies.stabilisation_rate": {"better": "higher", "good": "90", "warn": "80"},
    # overdue follow-ups escalated to the team lead (or manager), waiting now
    "calls.escalated": {"better": "lower", "good": "0", "warn": "5"},
    # the agent's own policies cancelled in free look in the period ("My day")
    "policies.my_free_look": {"better": "lower", "good": "0", "warn": "1"},
}
