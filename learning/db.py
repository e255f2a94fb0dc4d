"""Column types and helpers shared by every feature's models."""
from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import DateTime, Enum, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite forgets the zone of a stored value; without this, comparisons between
    values read from SQLite and PostgreSQL would fail or silently shift by 8 hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store timezone-aware UTC values")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def insert_for(model, dialect: str | None = None):
    """INSERT … ON CONFLICT for ``model``: both databases speak it through the same SQLAlchemy API,
    but each dialect has its own ``insert``.  ``dialect`` defaults to the bound engine's."""
    if dialect is None:
        from learning.extensions import db

        dialect = db.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def leave_autocommit() -> None:
    """End the request's autocommit (``api.member_token_required(joined=…)`` on PostgreSQL), if it is
    in one: what the session does next is one transaction again."""
    from learning.extensions import db

    if db.session().in_transaction() and \
            db.session.connection().get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        db.session.commit()


def str_enum(enum_cls: type[enum.Enum], length: int = 24) -> Enum:
    """A portable enum column: VARCHAR holding the enum's value, checked in Python."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Foreign keys on, WAL for concurrent readers, and waiting instead of failing on locks."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def read_only_sqlite(url: str) -> str:
    """For `learning doctor`: a SQLite URL opened read-only, so that looking creates no file (no
    database where there is none; no -wal/-shm files unless a running server has them already).
    Other databases are returned unchanged."""
    from pathlib import Path
    from urllib.parse import quote

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return url
    path = Path(parsed.database).resolve()
    extra = "" if Path(f"{path}-wal").exists() else "&immutable=1"
    return f"sqlite:///file:{quote(str(path))}?mode=ro{extra}&uri=true"


def one_round_trip(sql: str, params: dict):
    """Run ``sql`` (psycopg's ``%(name)s`` parameters) as one statement on a pooled PostgreSQL
    connection of its own, in autocommit, straight through the driver, and return its first row (or
    None): the hot paths' one statement (``courses.beat_sql``, ``quizzes.answer_sql``).  No ORM session
    and no SQLAlchemy execution around it — those were a third of such a call's time in the worker.

    The pool's checkout still tests a connection that lay idle (``engines.install_idle_ping``), the
    connection's time limits hold (set when it was made), psycopg prepares the statement after a few
    uses, and a driver error is raised as SQLAlchemy's (``OperationalError`` → 503 "try again"), the
    connection invalidated if the server is gone."""
    from sqlalchemy.exc import DBAPIError

    from learning.extensions import db

    engine = db.engine
    dialect = engine.dialect
    raw = engine.raw_connection()
    driver = raw.driver_connection
    try:
        driver.autocommit = True
        try:
            cursor = driver.execute(sql, params)
            return cursor.fetchone() if cursor.description is not None else None
        finally:
            driver.autocommit = False
    except dialect.loaded_dbapi.Error as exc:
        gone = dialect.is_disconnect(exc, raw.dbapi_connection, None)
        if gone:
            raw.invalidate(exc)
        raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=gone,
                                  dialect=dialect) from exc
    finally:
        raw.close()
