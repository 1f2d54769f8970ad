"""Settings for the anchor-deploy console: the only module that reads the environment."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file is optional; real environment variables always win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _setting(name: str, kind: str, default: Any) -> Any:
    """One environment variable read as `kind` (int, float, bool, str); a malformed value is one
    clear ImproperlyConfigured line naming the variable, never a ValueError traceback."""
    try:
        return getattr(env, kind)(name, default=default)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            f"{name}={env.str(name)!r} is not a valid {kind}; fix it or unset it."
        ) from None


def _positive(name: str, default: int) -> int:
    value = _setting(name, "int", default)
    if value <= 0:
        raise ImproperlyConfigured(f"{name}={value} must be a positive whole number.")
    return value


DEBUG = _setting("DEBUG", "bool", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (or .env), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = "insecure-local-development-key-only-used-when-DEBUG-is-on"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# --- anchor-deploy data plane (DynamoDB + S3) -----------------------------------------------------
STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,19}$")

ANCHOR_STAGE = env.str("ANCHOR_STAGE", default="dev")
if not STAGE_PATTERN.match(ANCHOR_STAGE):
    raise ImproperlyConfigured(
        f"ANCHOR_STAGE={ANCHOR_STAGE!r} is not a valid stage: use lower-case letters, digits "
        "and '-', starting with a letter, at most 20 characters."
    )
AWS_REGION = env.str("AWS_REGION", default="ap-southeast-1")
ANCHOR_BUCKET_SUFFIX = env.str("ANCHOR_BUCKET_SUFFIX", default="")
# Explicit resource names for the stage ANCHOR_STAGE (docs/provisioning.md, "Adopting a stage"):
# empty means the default, anchor-deploy-{stage}-{role} (buckets with ANCHOR_BUCKET_SUFFIX). A
# set name wins over the default and the suffix; other stages keep their default names. The
# tenants table is named here ahead of the table itself.
_TABLE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_BUCKET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _resource_name(name: str, kind: str) -> str:
    """An explicit table or bucket name ("" when unset), checked against AWS's naming rules."""
    value = env.str(name, default="")
    pattern = _TABLE_NAME_PATTERN if kind == "table" else _BUCKET_NAME_PATTERN
    if value and (not pattern.match(value) or ".." in value):
        raise ImproperlyConfigured(f"{name}={value!r} is not a valid {kind} name.")
    return value


ANCHOR_PROJECTS_TABLE = _resource_name("ANCHOR_PROJECTS_TABLE", "table")
ANCHOR_DEPLOYMENTS_TABLE = _resource_name("ANCHOR_DEPLOYMENTS_TABLE", "table")
ANCHOR_TENANTS_TABLE = _resource_name("ANCHOR_TENANTS_TABLE", "table")
ANCHOR_ARTIFACTS_BUCKET = _resource_name("ANCHOR_ARTIFACTS_BUCKET", "S3 bucket")
ANCHOR_LOGS_BUCKET = _resource_name("ANCHOR_LOGS_BUCKET", "S3 bucket")
# Production stages: teardown refuses them (and any resource tagged with one of them), and
# provision declares their tables with deletion protection and point-in-time recovery. Stage
# production always is one; ANCHOR_PROTECTED_STAGES (comma-separated) adds others.
ANCHOR_PROTECTED_STAGES = list(
    dict.fromkeys(["production", *env.list("ANCHOR_PROTECTED_STAGES", default=[])])
)
for _stage in ANCHOR_PROTECTED_STAGES:
    if not STAGE_PATTERN.match(_stage):
        raise ImproperlyConfigured(f"ANCHOR_PROTECTED_STAGES: {_stage!r} is not a valid stage.")
# Endpoints (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3) and credentials are
# read by boto3 itself from its standard variables; nothing here overrides them.

# Presigned links to logs and artifacts live this long (seconds).
ANCHOR_PRESIGN_SECONDS = _positive("ANCHOR_PRESIGN_SECONDS", 300)

# The log viewer (deployments.logsearch): a search or "jump to first error" reads at most this many
# bytes of a log per request (in ranged GETs of at most 256 KiB each), then offers to continue.
ANCHOR_LOG_SCAN_BYTES = _positive("ANCHOR_LOG_SCAN_BYTES", 8 * 1024 * 1024)
# "Jump to first error": the first line matching any of these regular expressions (searched in
# the line's text without its colour codes). ANCHOR_LOG_ERROR_PATTERNS, one pattern a line,
# replaces the list. Each default starts with its literal text and checks the word boundary
# after it with a look-behind: Python's re then finds the literal fast (a leading \b costs about
# 40 ms per 256 KiB read instead of 0.1 ms).
_DEFAULT_LOG_ERROR_PATTERNS = [
    r"npm ERR!",  # npm
    r"Error:(?<=\bError:)",  # Node, webpack, the Vercel-style "Error: Command ... exited with 1"
    r"error TS(?<=\berror TS)\d+",  # tsc
    r"FAILED(?<=\bFAILED)\b",  # test runners, make, gradle
    r"^Failed to compile",  # Next.js, create-react-app
    r"Type error:(?<=\bType error:)",  # Next.js type checking
    r"exit(?<=\bexit)(?:ed)?(?: with)?(?: code| status)?:? (?!0\b)-?\d+\b",  # exit code not 0
]
ANCHOR_LOG_ERROR_PATTERNS = [
    line for line in env.str("ANCHOR_LOG_ERROR_PATTERNS", default="").splitlines() if line.strip()
] or _DEFAULT_LOG_ERROR_PATTERNS
for _pattern in ANCHOR_LOG_ERROR_PATTERNS:
    try:
        re.compile(_pattern)
    except re.error as _error:
        raise ImproperlyConfigured(
            f"ANCHOR_LOG_ERROR_PATTERNS: {_pattern!r} is not a regular expression ({_error})."
        ) from None
# Restoring an archived build log (RestoreObject): the retrieval tier (Expedited, Standard or
# Bulk; DEEP_ARCHIVE allows only Standard or Bulk, so Expedited becomes Standard there) and how
# many days the restored copy stays readable.
RESTORE_TIERS = ("Expedited", "Standard", "Bulk")
ANCHOR_RESTORE_TIER = env.str("ANCHOR_RESTORE_TIER", default="Standard")
if ANCHOR_RESTORE_TIER not in RESTORE_TIERS:
    raise ImproperlyConfigured(
        f"ANCHOR_RESTORE_TIER={ANCHOR_RESTORE_TIER!r} is not a restore tier: use "
        f"{', '.join(RESTORE_TIERS)}."
    )
ANCHOR_RESTORE_DAYS = _positive("ANCHOR_RESTORE_DAYS", 7)

# How the request-path AWS clients give up (infra.core.aws.client_config): tries in all (the
# first included), seconds to connect and to read. The defaults answer a hung or unreachable
# endpoint with the 503 page within 10 s. Retry mode "standard" (botocore's) or "adaptive".
AWS_MAX_ATTEMPTS = _positive("AWS_MAX_ATTEMPTS", 3)
AWS_CONNECT_TIMEOUT = _positive("AWS_CONNECT_TIMEOUT", 1)
AWS_READ_TIMEOUT = _positive("AWS_READ_TIMEOUT", 2)
AWS_RETRY_MODE = env.str("AWS_RETRY_MODE", default="standard")
if AWS_RETRY_MODE not in {"standard", "adaptive", "legacy"}:
    raise ImproperlyConfigured(
        f"AWS_RETRY_MODE={AWS_RETRY_MODE!r} is not a botocore retry mode: use standard or adaptive."
    )

# --- Django ---------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "anchor_site.apps.AnchorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "anchor_site.apps.ConsoleConfig",
    "projects",
    "deployments",
    "staff",
    "web",
    "infra.provisioning",
    "infra.local",
]

MIDDLEWARE = [
    # First, so every response (static files and health checks included) is logged and carries
    # the security headers: HSTS, nosniff, Referrer-Policy, COOP, X-Frame-Options and the CSP.
    # (XFrameOptions and CSP only touch responses: ahead of SecurityMiddleware, they also reach
    # its redirects to HTTPS.)
    "anchor_site.middleware.RequestLogMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "anchor_site.middleware.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "anchor_site.urls"

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

WSGI_APPLICATION = "anchor_site.wsgi.application"


def _database(url: str) -> dict[str, Any]:
    """DATABASE_URL as Django's DATABASES entry: SQLite or PostgreSQL (psycopg 3), anything else
    one clear line. The URL is never echoed back: it may hold a password."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if not parts.path.strip("/") and parts.path != "/:memory:":
            raise ImproperlyConfigured("DATABASE_URL: a sqlite:/// URL needs a file path.")
    elif parts.scheme in {"postgres", "postgresql", "pgsql"}:
        try:
            parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
        except ValueError:
            raise ImproperlyConfigured(
                "DATABASE_URL: the PostgreSQL port is not a number."
            ) from None
        if not parts.hostname or not parts.path.strip("/"):
            raise ImproperlyConfigured(
                "DATABASE_URL: use postgres://USER:PASSWORD@HOST:PORT/DATABASE."
            )
    else:
        raise ImproperlyConfigured(
            "DATABASE_URL must start with sqlite:/// or postgres:// "
            f"(got a URL of scheme {parts.scheme or 'none'!r})."
        )
    config = env.db_url_config(url)
    if parts.scheme != "sqlite":
        # Keep PostgreSQL connections open across requests, checked before reuse.
        config["CONN_MAX_AGE"] = _setting("DATABASE_CONN_MAX_AGE", "int", 60)
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {
    "default": _database(env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))
}

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username and address before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Singapore"  # times are stored in UTC and shown in Singapore time
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` (run by `make serve`) gathers the files here; WhiteNoise serves them
# with hashed names, compressed, and cached for a year. Git-ignored.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / ".local" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "admin:login"

# --- HTTPS and headers (`manage.py check --deploy --fail-level WARNING` passes with DEBUG off) ----
# The console sits behind a TLS-terminating proxy or load balancer that sets X-Forwarded-Proto
# (and appends the client to X-Forwarded-For). TRUST_PROXY_HEADERS=false where nothing does.
TRUST_PROXY_HEADERS = _setting("TRUST_PROXY_HEADERS", "bool", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_PROXY_HEADERS else None
SECURE_SSL_REDIRECT = _setting("SECURE_SSL_REDIRECT", "bool", not DEBUG)
# A load balancer probes the instance over plain HTTP: the health checks answer it directly.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = _setting("SECURE_HSTS_SECONDS", "int", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _setting("SECURE_HSTS_INCLUDE_SUBDOMAINS", "bool", True)
SECURE_HSTS_PRELOAD = _setting("SECURE_HSTS_PRELOAD", "bool", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Origins a browser may post forms from besides the console's own (e.g. https://console.example).
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Cookies: Secure, HttpOnly and SameSite=Lax; with HTTPS the `__Host-` prefix also pins them to
# this host and path / (a browser refuses that prefix on a cookie that is not Secure).
SECURE_COOKIES = _setting("SECURE_COOKIES", "bool", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_NAME = "__Host-sessionid" if SECURE_COOKIES else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if SECURE_COOKIES else "csrftoken"
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"

# Staff sessions: idle for at most SESSION_IDLE_MINUTES (the cookie's age, renewed on every
# request), and at most SESSION_MAX_HOURS after the login whatever the activity.
SESSION_IDLE_MINUTES = _positive("SESSION_IDLE_MINUTES", 30)
SESSION_MAX_HOURS = _positive("SESSION_MAX_HOURS", 12)
if SESSION_IDLE_MINUTES > 30 or SESSION_MAX_HOURS > 12:
    # The staff-session policy (ASVS 3.3): shorter is allowed, longer is not.
    raise ImproperlyConfigured(
        "SESSION_IDLE_MINUTES may be at most 30 and SESSION_MAX_HOURS at most 12."
    )
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True

# Content-Security-Policy (django-csp 4): nothing inline, nothing from another origin. Images
# include data: URIs, which the admin's stylesheets use for a few icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# --- Login throttling (django-axes) ---------------------------------------------------------------
# After AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair gets
# HTTP 429 and an admin-styled page for AXES_COOLOFF_MINUTES; a successful login resets the count.
AXES_FAILURE_LIMIT = _positive("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_MINUTES = _positive("AXES_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "anchor_site.security.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# The client's address: behind the proxy, the right-most X-Forwarded-For entry (the one the proxy
# itself appended; anything to its left came from the client and could be forged).
AXES_CLIENT_IP_CALLABLE = "anchor_site.security.client_ip"

# --- Staff single sign-on (OpenID Connect, mozilla-django-oidc; anchor_site/sso.py) ------------
# Off unless OIDC_ISSUER is set. Endpoints come from the issuer's discovery document. README
# "Single sign-on" lists every variable.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_ENABLED = bool(OIDC_ISSUER)
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default=urlsplit(OIDC_ISSUER).hostname or "")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_RP_SIGN_ALGO = env.str("OIDC_SIGN_ALGO", default="RS256")
# The ID-token (or userinfo) claim listing the staff member's groups at the provider, and the map
# from those groups to the console's: OIDC_GROUP_MAP=console-support=Support,console-ops=Operations.
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_GROUP_MAP = env.dict("OIDC_GROUP_MAP", default={})
OIDC_ALLOWED_EMAIL_DOMAINS = [
    domain.strip().lower() for domain in env.list("OIDC_ALLOWED_EMAIL_DOMAINS", default=[])
]
# Password login beside SSO: "superusers" (only they may use it) or "off".
OIDC_PASSWORD_LOGIN = env.str("OIDC_PASSWORD_LOGIN", default="superusers")
OIDC_REFRESH_MINUTES = _positive("OIDC_REFRESH_MINUTES", 15)
OIDC_TIMEOUT = _positive("OIDC_TIMEOUT_SECONDS", 5)
if OIDC_ENABLED:
    _issuer = urlsplit(OIDC_ISSUER)
    _missing = [
        name
        for name, value in (
            ("OIDC_CLIENT_ID", OIDC_RP_CLIENT_ID),
            ("OIDC_CLIENT_SECRET", OIDC_RP_CLIENT_SECRET),
            ("OIDC_GROUP_MAP", OIDC_GROUP_MAP),
            ("OIDC_ALLOWED_EMAIL_DOMAINS", OIDC_ALLOWED_EMAIL_DOMAINS),
        )
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(f"OIDC_ISSUER is set: set {', '.join(_missing)} too.")
    if _issuer.scheme != "https" and _issuer.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ImproperlyConfigured("OIDC_ISSUER must be an https:// URL (http only on loopback).")
    if len(OIDC_ISSUER) > 255:
        raise ImproperlyConfigured("OIDC_ISSUER may be at most 255 characters long.")
    _unknown = sorted(set(OIDC_GROUP_MAP.values()) - {"Support", "Operations"})
    if _unknown:
        raise ImproperlyConfigured(
            f"OIDC_GROUP_MAP maps to {', '.join(_unknown)}: use Support or Operations."
        )
    if OIDC_PASSWORD_LOGIN not in {"superusers", "off"}:
        raise ImproperlyConfigured("OIDC_PASSWORD_LOGIN must be superusers or off.")
    if OIDC_REFRESH_MINUTES > 15:
        raise ImproperlyConfigured("OIDC_REFRESH_MINUTES may be at most 15.")
    if OIDC_RP_SIGN_ALGO[:2] not in {"RS", "ES"}:
        raise ImproperlyConfigured("OIDC_SIGN_ALGO must be an RS or ES algorithm (e.g. RS256).")

    # mozilla-django-oidc's own settings.
    OIDC_USE_PKCE = True
    OIDC_USE_NONCE = True
    OIDC_TOKEN_USE_BASIC_AUTH = True  # client_secret_basic, the token endpoint's default method
    OIDC_STORE_ID_TOKEN = True  # the id_token_hint of the logout at the provider
    OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = OIDC_REFRESH_MINUTES * 60
    # Not re-checked: the health checks, and signing out (which must work when a re-check is due).
    OIDC_EXEMPT_URLS = ["healthz", "readyz", "admin:logout"]
    LOGIN_REDIRECT_URL = "admin:index"
    AUTHENTICATION_BACKENDS = [
        AUTHENTICATION_BACKENDS[0],  # django-axes stays first
        "anchor_site.sso.SSOBackend",
        "anchor_site.sso.PasswordBackend",
    ]
    # The session re-check needs the logged-in user: right after the session lifetime check.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("anchor_site.middleware.SessionLifetimeMiddleware") + 1,
        "anchor_site.sso_middleware.SessionRefresh",
    )
    # Logout is a form post that the console redirects to the provider's end_session endpoint:
    # Chromium applies form-action to that redirect too.
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(
        f"{_issuer.scheme}://{_issuer.netloc}"
    )

# --- Production server (`make serve`: gunicorn) ---------------------------------------------------
HOST = env.str("HOST", default="127.0.0.1")
PORT = _setting("PORT", "int", 8000)
if not 0 < PORT < 65536:
    raise ImproperlyConfigured(f"PORT={PORT} is not a TCP port (1-65535).")
# Defaults for a 2-core box: gunicorn's (2 x cores) + 1 workers, two threads each.
GUNICORN_WORKERS = _positive("GUNICORN_WORKERS", 5)
GUNICORN_THREADS = _positive("GUNICORN_THREADS", 2)
GUNICORN_TIMEOUT = _positive("GUNICORN_TIMEOUT", 30)
GUNICORN_GRACEFUL_TIMEOUT = _positive("GUNICORN_GRACEFUL_TIMEOUT", 30)
GUNICORN_KEEPALIVE = _positive("GUNICORN_KEEPALIVE", 5)

# --- The "needs attention" feed -------------------------------------------------------------------
# A build running longer than this is stuck (the feed lists it, and staff may mark it as error);
# a deployment queued longer than LONG_QUEUED_AFTER is listed as long-queued.
STUCK_BUILD_AFTER = timedelta(minutes=_positive("ANCHOR_STUCK_BUILD_MINUTES", 60))
LONG_QUEUED_AFTER = timedelta(minutes=_positive("ANCHOR_LONG_QUEUED_MINUTES", 15))

# --- Health checks --------------------------------------------------------------------------------
# /readyz answers from a result at most this old, so a busy load balancer costs AWS little.
READINESS_CACHE_SECONDS = _setting("READINESS_CACHE_SECONDS", "float", 10.0)
READINESS_TIMEOUT_SECONDS = _setting("READINESS_TIMEOUT_SECONDS", "float", 2.0)
if not 0 <= READINESS_CACHE_SECONDS <= 10 or not 0 < READINESS_TIMEOUT_SECONDS <= 2:
    raise ImproperlyConfigured(
        "READINESS_CACHE_SECONDS must be 0-10 and READINESS_TIMEOUT_SECONDS above 0, at most 2."
    )

# --- Logging --------------------------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line (for a log platform); plain: readable lines.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not known: use plain or json.")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not a logging level.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "infra.core.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "loggers": {
        "anchor": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # Failed logins and lockouts (django-axes logs them too) at WARNING.
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # Django's own 4xx/5xx lines are left to the request log, except server errors.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
