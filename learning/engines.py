"""How the app connects: time limits, PgBouncer's transaction mode, pool sizes, the scheduler's
direct connection and the read replica (``learning.replica``).

PgBouncer in transaction mode (``LEARNING_DB_POOLER=pgbouncer``) hands each *transaction* a server
connection of its choosing, so nothing may outlive a transaction on the server:

* psycopg's automatic prepared statements are off (``prepare_threshold=None``): a statement
  prepared on one server connection is unknown on the next, and another client's statement of the
  same name collides (``DuplicatePreparedStatement``);
* the time limits are not startup ``options`` (PgBouncer refuses them) but ``set_config(…, true)``
  at the start of each transaction, so they hold for that transaction wherever it runs;
* the scheduler's job locks are taken on ``LEARNING_SCHEDULER_DATABASE_URL`` (straight to
  PostgreSQL) when set, or else as transaction-scoped advisory locks held by an open transaction
  (``learning.scheduler.locks``): a session lock would stay on a pooled server connection.
"""
from __future__ import annotations

import threading
import time

from flask import Flask
from sqlalchemy import create_engine, event
from sqlalchemy.exc import DisconnectionError


def configure(app: Flask) -> None:
    """Engine options for the primary database, from the configuration (before the engine exists)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.pop("pool_pre_ping", None)  # install_idle_ping tests a connection only after it lay idle
    connect_args = dict(options.get("connect_args") or {})
    statement, lock = time_limits(app)
    if app.config.get("DB_POOLER") == "pgbouncer":
        connect_args["prepare_threshold"] = None
    else:
        connect_args.setdefault("options", f"-c statement_timeout={statement} -c lock_timeout={lock}")
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def install_idle_ping(app: Flask, engine) -> None:
    """Test a pooled connection before handing it out only when it has lain idle for
    ``DB_PING_IDLE_SECONDS``: a connection returned a moment ago is alive, and the ``SELECT 1`` of
    ``pool_pre_ping`` was a round trip on every request (a sixth of a heartbeat's).  One found dead
    is replaced (SQLAlchemy's pessimistic handling: ``DisconnectionError`` in ``checkout``); one
    that dies within the idle window fails its request, and the pool is renewed (SQLAlchemy's
    disconnect detection).  ``0`` pings on every checkout."""
    if engine.dialect.name != "postgresql":
        return
    idle = float(app.config.get("DB_PING_IDLE_SECONDS", 5))
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _made(dbapi_connection, record):
        record.info["learning_returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record):
        if record is not None:
            record.info["learning_returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, proxy):
        returned = record.info.get("learning_returned_at")
        if idle > 0 and returned is not None and time.monotonic() - returned < idle:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError("the pooled connection is gone") from exc
            raise


def time_limits(app: Flask) -> tuple[int, int]:
    """(statement_timeout, lock_timeout) in ms: a web request waits seconds, commands and jobs longer."""
    job = app.config.get("DB_ROLE") == "job"
    statement = app.config["DB_JOB_STATEMENT_TIMEOUT_MS" if job else "DB_STATEMENT_TIMEOUT_MS"]
    lock = app.config["DB_JOB_LOCK_TIMEOUT_MS" if job else "DB_LOCK_TIMEOUT_MS"]
    return int(statement), int(lock)


def may_autocommit(app: Flask, engine) -> bool:
    """Whether a statement may run in autocommit and keep the time limits: on PostgreSQL, unless
    behind PgBouncer, where the limits are set at each transaction's start (below) and a statement
    outside a transaction would run without them."""
    return engine.dialect.name == "postgresql" and app.config.get("DB_POOLER") != "pgbouncer"


def install_transaction_limits(app: Flask, engine) -> None:
    """Behind PgBouncer: the time limits at the start of every transaction (they end with it)."""
    if app.config.get("DB_POOLER") != "pgbouncer" or engine.dialect.name != "postgresql":
        return
    statement, lock = time_limits(app)
    sql = (f"SELECT set_config('statement_timeout', '{statement}', true), "
           f"set_config('lock_timeout', '{lock}', true)")

    @event.listens_for(engine, "begin")
    def _limits(connection):
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql(sql)


_extra_engines: dict[str, object] = {}
_extra_lock = threading.Lock()


def extra_engine(name: str, url: str, **options):
    """A second engine of this process (the scheduler's lock connection, the replica), made once per
    ``name`` and URL; the threads of a worker share it."""
    from learning.config import normalise_database_url

    key = f"{name}:{url}"
    with _extra_lock:
        if key not in _extra_engines:
            _extra_engines[key] = create_engine(normalise_database_url(url), **options)
        return _extra_engines[key]


def dispose_extra_engines() -> None:
    with _extra_lock:
        for engine in _extra_engines.values():
            engine.dispose()
        _extra_engines.clear()


def lock_engine(app: Flask, default):
    """The engine for the scheduler's session-level job locks: ``LEARNING_SCHEDULER_DATABASE_URL``
    (one small pool per process) when set, else ``default`` (the app's)."""
    url = app.config.get("SCHEDULER_DATABASE_URL")
    if not url:
        return default
    return extra_engine("locks", url, pool_size=2, max_overflow=8, pool_pre_ping=True,
                        connect_args={"connect_timeout": 5, "application_name": "learning-scheduler-lock"})
