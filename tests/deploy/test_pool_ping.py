"""A pooled PostgreSQL connection is tested before use only after it lay idle
(``DB_PING_IDLE_SECONDS``; ``learning.engines.install_idle_ping``): busy traffic pays no ``SELECT 1``
per request, and a connection that died while idle is replaced, not handed to a request."""
from __future__ import annotations

import time
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa

from learning import create_app
from learning.extensions import db as _db
from tests.conftest import postgresql_url
from tests.deploy.conftest import postgresql_pass


@contextmanager
def pooled(tmp_path, monkeypatch, idle: float):
    """The app's engine (one pooled connection) with ``DB_PING_IDLE_SECONDS`` = ``idle``, and the pings
    it sends, counted."""
    postgresql_pass()
    app = create_app({"SQLALCHEMY_DATABASE_URI": postgresql_url(), "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "x", "DB_PING_IDLE_SECONDS": idle,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}})
    with app.app_context():
        engine, pings = _db.engine, []
        ping = engine.dialect.do_ping

        def counted(dbapi_connection):
            pings.append(dbapi_connection)
            return ping(dbapi_connection)

        monkeypatch.setattr(engine.dialect, "do_ping", counted)
        try:
            yield engine, pings
        finally:
            engine.dispose()


def _backend(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT pg_backend_pid()"))


def _kill(pid: int) -> None:
    with psycopg.connect(postgresql_url().replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
        assert c.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True


def test_a_connection_returned_a_moment_ago_is_not_pinged(tmp_path, monkeypatch):
    with pooled(tmp_path, monkeypatch, idle=60) as (engine, pings):
        assert engine.pool._pre_ping is False  # the per-checkout ping is off; ours decides
        pids = {_backend(engine) for _ in range(20)}
        assert len(pids) == 1 and pings == []  # one connection, reused 20 times, never pinged


def test_zero_pings_on_every_checkout(tmp_path, monkeypatch):
    with pooled(tmp_path, monkeypatch, idle=0) as (engine, pings):
        for _ in range(5):
            _backend(engine)
        assert len(pings) == 5


def test_a_connection_that_died_while_idle_is_replaced_before_use(tmp_path, monkeypatch):
    with pooled(tmp_path, monkeypatch, idle=0.2) as (engine, pings):
        first = _backend(engine)
        _kill(first)
        time.sleep(0.3)  # past the idle window: the next checkout pings, finds it dead, connects anew
        second = _backend(engine)
        assert second != first and len(pings) == 1
        # a fresh connection is not pinged on its first checkout, and the page's request saw no error
        assert _backend(engine) == second and len(pings) == 1


def test_one_that_died_within_the_window_fails_once_and_the_pool_is_renewed(tmp_path, monkeypatch):
    """The price of not pinging a busy connection: a server that went away between two requests a
    moment apart fails the second, and the one after it gets a new connection."""
    with pooled(tmp_path, monkeypatch, idle=60) as (engine, _pings):
        first = _backend(engine)
        _kill(first)
        failed = False
        try:
            _backend(engine)
        except sa.exc.OperationalError as exc:
            failed = exc.connection_invalidated
        assert failed
        assert _backend(engine) != first
