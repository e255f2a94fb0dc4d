"""``learning doctor``: the configuration as this process sees it, and what is wrong with it.

Meant for the first start on a new server and for "it works on my machine": it reads the same
environment the app reads and tries each dependency for real (database, migrations, Redis,
SMTP, scheduler heartbeat) instead of trusting the settings.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

SECRET_KEYS = {"SECRET_KEY", "SMTP_PASSWORD"}
SHOWN = ["SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "INSTANCE_PATH", "CONTENT_DIR", "TIMEZONE", "BABEL_DEFAULT_LOCALE",
         "SESSION_COOKIE_SECURE", "RATELIMIT_STORAGE_URI", "LOGIN_RATE_LIMIT", "TRUSTED_PROXIES", "BIND", "WORKERS",
         "THREADS", "LOG_FORMAT", "LOG_LEVEL", "SCHEDULES", "SCHEDULER_HEARTBEAT_SECONDS", "SMTP_HOST", "SMTP_PORT",
         "SMTP_SECURITY", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM", "MAX_CONTENT_LENGTH", "PAGE_SIZE"]


@dataclass
class Finding:
    level: str  # ok | warn | error
    topic: str
    message: str


def shown_configuration(config) -> list[tuple[str, str]]:
    rows = []
    for key in SHOWN:
        value = config.get(key)
        if key in SECRET_KEYS and value:
            value = "(set, hidden)"
        elif key == "SQLALCHEMY_DATABASE_URI":
            value = make_url(value).render_as_string(hide_password=True)
        rows.append((key, str(value)))
    return rows


def diagnose(app: Flask) -> list[Finding]:
    from learning.config import Config

    findings: list[Finding] = []
    add = lambda level, topic, message: findings.append(Finding(level, topic, message))  # noqa: E731
    config = app.config
    problems = Config.validate(SimpleNamespace(**config))  # the same rules the settings were read with
    for problem in problems:
        add("error", "configuration", problem)
    if not problems:
        add("ok", "configuration", "time zone, locale, SMTP security and log format are valid")

    def schedules(_app, add):
        from learning.scheduler.services import schedule_problems

        for problem in schedule_problems():
            add("error", "schedules", problem)

    for check in (schedules, _database, _secrets, _passwords, _rate_limits, _smtp, _files):
        try:
            check(app, add)
        except Exception as exc:  # a check that breaks is itself a finding; the others still run
            add("error", check.__name__.strip("_"), f"the check failed: {type(exc).__name__}: {exc}")
    return findings


def _database(app, add) -> None:
    from learning.extensions import db

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    dialect = make_url(uri).get_backend_name()
    if dialect == "sqlite":
        from urllib.parse import unquote

        path = unquote((make_url(uri).database or "").removeprefix("file:"))
        if path and path != ":memory:" and not Path(path).exists():
            add("error", "database", f"{path} does not exist: run `learning db upgrade`")
            return
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error
        db.session.rollback()
        add("error", "database", f"cannot connect: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return
    add("ok", "database", f"{dialect} answers")
    if dialect == "sqlite":
        add("warn", "database", "SQLite is the embedded default; production runs on PostgreSQL (LEARNING_DATABASE_URL)")
        if app.config["WORKERS"] > 1:
            add("warn", "database", f"LEARNING_WORKERS={app.config['WORKERS']} on SQLite: writers queue behind one lock")
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from learning.config import MIGRATIONS_DIR

    heads = set(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        behind = "behind the code" if current else "not migrated"
        add("error", "migrations", f"database at {sorted(current) or 'nothing'}, code at {sorted(heads)} ({behind}): "
                                   "run `learning db upgrade`")
    else:
        add("ok", "migrations", f"database at the newest migration ({', '.join(sorted(heads))})")

    from learning.scheduler.services import last_beat, scheduler_alive

    beat = last_beat()
    if scheduler_alive():
        add("ok", "scheduler", f"heartbeat at {beat:%Y-%m-%d %H:%M:%S} UTC")
    else:
        add("warn", "scheduler", "no recent heartbeat: start `learning scheduler` (one per site)"
            + (f"; last one at {beat:%Y-%m-%d %H:%M:%S} UTC" if beat else ""))


def _secrets(app, add) -> None:
    if os.environ.get("LEARNING_SECRET_KEY"):
        add("ok", "secret key", "from LEARNING_SECRET_KEY")
    elif not app.config.get("SECRET_KEY"):
        add("warn", "secret key", f"none yet: the first start creates {Path(app.config['INSTANCE_PATH']) / 'secret_key'}; "
                                  "every app host must share it (or set LEARNING_SECRET_KEY)")
    else:
        add("ok", "secret key", f"kept in {Path(app.config['INSTANCE_PATH']) / 'secret_key'}; "
                                "every app host must share it (or set LEARNING_SECRET_KEY)")
    if not app.config["SESSION_COOKIE_SECURE"]:
        add("warn", "cookies", "LEARNING_SESSION_COOKIE_SECURE is off: only for plain http on a laptop")
    if not app.config["TRUSTED_PROXIES"]:
        add("warn", "proxy", "LEARNING_TRUSTED_PROXIES=0: behind a reverse proxy, client addresses (and so rate "
                             "limits) are the proxy's; set it to the number of proxies in front")


def _passwords(app, add) -> None:
    """werkzeug's scrypt (n ≥ 2^15) or PBKDF2 with at least 600,000 iterations (OWASP's figure)."""
    method = app.config["PASSWORD_HASH_METHOD"]
    name, *params = method.split(":")
    strong = {"scrypt": lambda p: not p or int(p[0]) >= 2**15,
              "pbkdf2": lambda p: len(p) < 2 or int(p[1]) >= 600_000}.get(name, lambda p: False)
    try:
        ok = strong(params)
    except ValueError:
        ok = False
    if ok:
        add("ok", "passwords", f"hashed with {method}")
    else:
        add("warn", "passwords", f"LEARNING_PASSWORD_HASH_METHOD={method!r} is weak: leave it unset (scrypt) "
                                 "or use pbkdf2:sha256:600000 or more")


def _rate_limits(app, add) -> None:
    config = app.config
    if not config["RATELIMIT_ENABLED"]:
        add("warn", "rate limits", "off (LEARNING_RATELIMIT_ENABLED=0): passwords and tokens can be guessed "
                                   "without limit")
        return
    uri = config["RATELIMIT_STORAGE_URI"]
    if uri.startswith("memory://"):
        add("warn", "rate limits", "kept in each process's memory: with several workers or hosts the limits multiply; "
                                   "set LEARNING_RATELIMIT_STORAGE_URI=redis://…")
        return
    try:
        from limits.storage import storage_from_string

        reachable = storage_from_string(uri).check()
    except Exception as exc:  # a bad URI or a missing driver
        add("error", "rate limits", f"{uri}: {type(exc).__name__}: {exc}")
        return
    if reachable:
        add("ok", "rate limits", f"{uri} answers")
    else:
        add("error", "rate limits", f"{uri} does not answer")


def _smtp(app, add) -> None:
    config = app.config
    if not config.get("SMTP_HOST"):
        add("ok", "email", "off (no LEARNING_SMTP_HOST): reminders are in-app only")
        return
    from learning.notifications.services import smtp_connection

    try:
        with smtp_connection() as connection:
            connection.noop()
    except Exception as exc:  # refused, timed out, TLS, login
        add("error", "email", f"{config['SMTP_HOST']}:{config['SMTP_PORT']}: {type(exc).__name__}: {exc}")
    else:
        add("ok", "email", f"{config['SMTP_HOST']}:{config['SMTP_PORT']} accepts us")


def _files(app, add) -> None:
    instance = Path(app.config["INSTANCE_PATH"])
    if not instance.exists():
        parent = next((p for p in instance.parents if p.exists()), None)
        if parent is not None and os.access(parent, os.W_OK):
            add("ok", "instance folder", f"{instance} does not exist yet; the first start creates it")
        else:
            add("error", "instance folder", f"{instance} does not exist and cannot be created")
    elif os.access(instance, os.W_OK):
        add("ok", "instance folder", f"{instance} is writable")
    else:
        add("error", "instance folder", f"{instance} is not writable (media and the secret key live there)")
    content = Path(app.config["CONTENT_DIR"])
    if not (content / "courses").is_dir():
        add("warn", "content", f"{content}/courses does not exist: `learning content import` has nothing to read")
    mo = Path(app.root_path) / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.mo"
    if not mo.exists():
        add("error", "translations", "not compiled: run `make translations` (pybabel compile)")
