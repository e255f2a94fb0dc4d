"""Configuration, read once from ``LEARNING_*`` environment variables.

Everything an operator may change is an environment variable so that the same
code runs under ``make run``, in CI and behind gunicorn without edited files.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
REPO_ROOT = PACKAGE_DIR.parent  # a git checkout; in an installed wheel this is site-packages


def default_instance_path() -> Path:
    """``LEARNING_INSTANCE_PATH``; else ``instance/`` in the checkout, or in the working directory when installed."""
    chosen = os.environ.get("LEARNING_INSTANCE_PATH")
    if chosen:
        return Path(chosen)
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "instance"
    return Path.cwd() / "instance"

_TRUE = {"1", "true", "yes", "on"}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"LEARNING_{name}")
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    return default if value is None else value.strip().lower() in _TRUE


def load_or_create_secret_key(instance_path: Path) -> str:
    """Return the secret key kept in the instance folder, creating it once.

    A constant in the code would let anyone forge sessions; a key generated per
    process would log everybody out on restart and differ between gunicorn
    workers.  ``O_EXCL`` makes the first worker win when several start at once.
    """
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = key_file.read_text(encoding="ascii").strip()
        if key:
            return key
        # An empty file means another process is writing it right now.
        import time

        for _ in range(50):
            time.sleep(0.05)
            key = key_file.read_text(encoding="ascii").strip()
            if key:
                return key
        raise RuntimeError(f"{key_file} is empty; delete it to generate a new key") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key


class Config:
    """All settings of one application instance.

    Built from the environment by :meth:`from_env`; tests pass overrides to
    ``create_app`` instead of setting environment variables.
    """

    def __init__(self, instance_path: Path, create_files: bool = True):
        self.INSTANCE_PATH = str(instance_path)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            _env("DATABASE_URL", f"sqlite:///{instance_path / 'learning.db'}")
        )
        # A gunicorn worker runs LEARNING_THREADS requests at once: its pool holds that many
        # connections, and a few more for a moment (workers × (threads + 2) stays predictable).
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            "pool_size": int(_env("DB_POOL_SIZE") or _env("THREADS", "4")),
            "max_overflow": int(_env("DB_MAX_OVERFLOW", "2")),
        }
        # A pooled connection idle this long is tested (SELECT 1) before use; 0: before every use.
        self.DB_PING_IDLE_SECONDS = float(_env("DB_PING_IDLE_SECONDS", "5"))
        # A heartbeat's or a quiz answer's one statement (beat_sql, answer_sql) commits without waiting for
        # its WAL to reach the disk: a PostgreSQL crash may lose the last ~0.6 s of them, never half of one.
        self.DB_HOT_ASYNC_COMMIT = _env_bool("DB_HOT_ASYNC_COMMIT", True)
        # "pgbouncer": PgBouncer in transaction mode between us and PostgreSQL (learning/engines.py).
        self.DB_POOLER = (_env("DB_POOLER", "") or "").strip().lower()
        # The scheduler's job locks straight to PostgreSQL (not through PgBouncer); optional.
        self.SCHEDULER_DATABASE_URL = _env("SCHEDULER_DATABASE_URL")
        # A streaming replica for rankings, appraisal, compliance, exports and leaderboards
        # (learning/replica.py); the primary whenever it is absent, down or behind.
        self.DATABASE_REPLICA_URL = _env("DATABASE_REPLICA_URL")
        self.REPLICA_MAX_LAG_SECONDS = float(_env("REPLICA_MAX_LAG_SECONDS", "30"))
        self.REPLICA_CONNECT_TIMEOUT = int(_env("REPLICA_CONNECT_TIMEOUT", "2"))
        self.REPLICA_RETRY_SECONDS = int(_env("REPLICA_RETRY_SECONDS", "30"))
        # PostgreSQL time limits: a web request waits seconds, not minutes, for a lock or a query;
        # jobs and commands (``learning …``) may take longer.  0 turns a limit off.
        self.DB_STATEMENT_TIMEOUT_MS = int(_env("DB_STATEMENT_TIMEOUT_MS", "15000"))
        self.DB_LOCK_TIMEOUT_MS = int(_env("DB_LOCK_TIMEOUT_MS", "5000"))
        self.DB_JOB_STATEMENT_TIMEOUT_MS = int(_env("DB_JOB_STATEMENT_TIMEOUT_MS", "900000"))
        self.DB_JOB_LOCK_TIMEOUT_MS = int(_env("DB_JOB_LOCK_TIMEOUT_MS", "60000"))
        self.DB_ROLE = "web"  # "job" for the command line and the scheduler
        secret = _env("SECRET_KEY")
        if secret or create_files:
            self.SECRET_KEY = secret or load_or_create_secret_key(instance_path)
        else:  # `learning doctor`: read the key if there is one, create nothing
            key_file = instance_path / "secret_key"
            self.SECRET_KEY = key_file.read_text(encoding="ascii").strip() if key_file.is_file() else None
        self.TIMEZONE = _env("TIMEZONE", "Asia/Shanghai")
        self.BABEL_DEFAULT_LOCALE = _env("DEFAULT_LOCALE", "zh_Hans_CN")
        self.BABEL_DEFAULT_TIMEZONE = self.TIMEZONE
        self.LANGUAGES = ["zh_Hans_CN", "en"]
        self.CONTENT_DIR = _env("CONTENT_DIR", str(PACKAGE_DIR / "content"))

        # Sessions and cookies.  Secure cookies are the default; ``make run``
        # serves plain http on 127.0.0.1 and turns them off explicitly.
        secure = _env_bool("SESSION_COOKIE_SECURE", True)
        self.SESSION_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_SECURE = secure
        self.SESSION_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=int(_env("SESSION_HOURS", "12")))

        # Rate limits: memory for one process, Redis when several workers share them.
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "5 per minute;30 per hour")  # per address and username
        # Per username from any address: stops guessing one account's password from many addresses.
        self.LOGIN_ACCOUNT_RATE_LIMIT = _env("LOGIN_ACCOUNT_RATE_LIMIT", "20 per hour")

        # werkzeug's scrypt by default; the test suite picks a cheaper method for speed.
        self.PASSWORD_HASH_METHOD = _env("PASSWORD_HASH_METHOD", "scrypt")
        self.API_TOKEN_DAYS = int(_env("API_TOKEN_DAYS", "90"))
        self.PAGE_SIZE = int(_env("PAGE_SIZE", "20"))
        # Uploads (a city's roster as XLSX is some tens of megabytes).
        self.MAX_CONTENT_LENGTH = int(_env("MAX_UPLOAD_MB", "64")) * 1024 * 1024
        # How often a campaign page refreshes its leaderboards (seconds).
        self.QUIZ_BOARD_REFRESH_SECONDS = int(_env("QUIZ_BOARD_REFRESH_SECONDS", "15"))
        # A campaign's leaderboard is rebuilt on the first poll after a level result, and at least this
        # often (members who move or leave change the branch figures without a level result).
        self.QUIZ_BOARD_MAX_AGE_SECONDS = int(_env("QUIZ_BOARD_MAX_AGE_SECONDS", "300"))
        # ... and while results keep coming, building may take at most this share of the time (a build of
        # 14,000 branches takes about a second: one every ten seconds; a branch's campaign: at once).
        self.QUIZ_BOARD_BUILD_SHARE = float(_env("QUIZ_BOARD_BUILD_SHARE", "0.1"))
        # Shared cache for leaderboards: redis://… for every worker to share one; empty: each worker's memory.
        self.CACHE_URL = _env("CACHE_URL", "")

        # The scheduler (its own process: `learning scheduler`).  LEARNING_SCHEDULE_<JOB> replaces a
        # job's cron schedule ("off" disables it), e.g. LEARNING_SCHEDULE_REMIND_BEHIND="0 10 * * *".
        self.SCHEDULES = {
            name[len("LEARNING_SCHEDULE_"):].lower(): value
            for name, value in os.environ.items() if name.startswith("LEARNING_SCHEDULE_") and value
        }
        self.SCHEDULER_HEARTBEAT_SECONDS = int(_env("SCHEDULER_HEARTBEAT_SECONDS", "30"))
        self.SCHEDULER_POLL_SECONDS = int(_env("SCHEDULER_POLL_SECONDS", "5"))
        self.JOB_RUN_DAYS = int(_env("JOB_RUN_DAYS", "90"))
        # Excel files of subtrees with more members than this are made in the background by the
        # scheduler, with a progress bar, and kept for EXPORT_KEEP_HOURS for whoever asked.
        self.EXPORT_DIRECT_MAX_MEMBERS = int(_env("EXPORT_DIRECT_MAX_MEMBERS", "20000"))
        self.EXPORT_KEEP_HOURS = int(_env("EXPORT_KEEP_HOURS", "24"))
        self.EXPORT_PROGRESS_SECONDS = float(_env("EXPORT_PROGRESS_SECONDS", "1"))
        self.EXPORT_STALE_SECONDS = int(_env("EXPORT_STALE_SECONDS", "900"))

        # Email for reminders: off unless an SMTP host is set.
        self.SMTP_HOST = _env("SMTP_HOST")
        self.SMTP_PORT = int(_env("SMTP_PORT", "25"))
        self.SMTP_SECURITY = _env("SMTP_SECURITY", "none")  # none | starttls | ssl
        self.SMTP_USER = _env("SMTP_USER")
        self.SMTP_PASSWORD = _env("SMTP_PASSWORD")
        self.SMTP_FROM = _env("SMTP_FROM", "learning@localhost")

        # Production serving: gunicorn workers, and how many reverse proxies to trust for the
        # client's address and scheme (X-Forwarded-For/-Proto/-Host); 0 when serving directly.
        self.WORKERS = int(_env("WORKERS", "2"))
        self.THREADS = int(_env("THREADS", "4"))
        self.BIND = _env("BIND", "127.0.0.1:8000")
        self.TRUSTED_PROXIES = int(_env("TRUSTED_PROXIES", "0"))
        self.LOG_FORMAT = _env("LOG_FORMAT", "json")  # json | text
        self.LOG_LEVEL = _env("LOG_LEVEL", "INFO")
        # Monitoring: who may read /metrics (addresses or networks, comma-separated; or a bearer
        # token), and an optional Sentry / GlitchTip DSN for unexpected errors.
        self.METRICS_ALLOW = _env("METRICS_ALLOW", "127.0.0.1/32,::1/128")
        self.METRICS_TOKEN = _env("METRICS_TOKEN")
        self.SENTRY_DSN = _env("SENTRY_DSN")
        self.SENTRY_ENVIRONMENT = _env("SENTRY_ENVIRONMENT", "production")
        self.SENTRY_TRACES_SAMPLE_RATE = float(_env("SENTRY_TRACES_SAMPLE_RATE", "0"))

        # flask-smorest / OpenAPI
        self.API_TITLE = "learning API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"

        self.WTF_CSRF_TIME_LIMIT = None  # the session's lifetime bounds the token

    @classmethod
    def from_env(cls, instance_path: Path, create_files: bool = True) -> "Config":
        return cls(instance_path, create_files)

    def validate(self) -> list[str]:
        """Problems an operator must fix; empty when the configuration is sane."""
        problems = []
        try:
            ZoneInfo(self.TIMEZONE)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"LEARNING_TIMEZONE={self.TIMEZONE!r} is not a known time zone")
        if self.BABEL_DEFAULT_LOCALE not in self.LANGUAGES:
            problems.append(
                f"LEARNING_DEFAULT_LOCALE={self.BABEL_DEFAULT_LOCALE!r} is not one of {self.LANGUAGES}"
            )
        if self.SMTP_SECURITY not in ("none", "starttls", "ssl"):
            problems.append(f"LEARNING_SMTP_SECURITY={self.SMTP_SECURITY!r} is not none, starttls or ssl")
        if self.LOG_FORMAT not in ("json", "text"):
            problems.append(f"LEARNING_LOG_FORMAT={self.LOG_FORMAT!r} is not json or text")
        if self.DB_POOLER not in ("", "pgbouncer"):
            problems.append(f"LEARNING_DB_POOLER={self.DB_POOLER!r} is not empty or pgbouncer")
        if self.WORKERS < 1 or self.THREADS < 1:
            problems.append("LEARNING_WORKERS and LEARNING_THREADS must be at least 1")
        return problems

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
