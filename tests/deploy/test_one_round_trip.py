"""``learning.db.one_round_trip``, the hot paths' statement straight through psycopg: its row, the
connection back in the pool out of autocommit, the pool's idle test still applied, and the driver's
errors raised as SQLAlchemy's (what the error pages know), a dead connection replaced."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from learning.db import one_round_trip
from tests.deploy.test_pool_ping import _backend, _kill, pooled


def test_the_first_row_or_none_and_the_connection_back_out_of_autocommit(tmp_path, monkeypatch):
    with pooled(tmp_path, monkeypatch, idle=60) as (engine, _pings):
        assert one_round_trip("SELECT %(a)s::int + 1, current_setting('transaction_isolation')", {"a": 41}) \
            == (42, "read committed")
        assert one_round_trip("SELECT 1 WHERE false", {}) is None
        pid = _backend(engine)
        assert one_round_trip("SELECT pg_backend_pid()", {}) == (pid,)  # the pool's one connection
        with engine.connect() as conn:
            assert conn.connection.driver_connection.autocommit is False
        one_round_trip("CREATE TABLE IF NOT EXISTS one_round_trip_probe (n int)", {})
        try:  # a write in autocommit is committed by itself: another connection sees it at once
            assert one_round_trip("INSERT INTO one_round_trip_probe VALUES (%(n)s) RETURNING n", {"n": 7}) == (7,)
            with sa.create_engine(engine.url.render_as_string(hide_password=False)).connect() as other:
                assert other.exec_driver_sql("SELECT n FROM one_round_trip_probe").scalars().all() == [7]
        finally:
            one_round_trip("DROP TABLE one_round_trip_probe", {})


def test_an_error_is_sqlalchemys_and_the_connection_goes_on(tmp_path, monkeypatch):
    with pooled(tmp_path, monkeypatch, idle=60) as (engine, _pings):
        with pytest.raises(sa.exc.DataError) as raised:
            one_round_trip("SELECT 1 / %(zero)s", {"zero": 0})
        assert "division by zero" in str(raised.value.orig) and not raised.value.connection_invalidated
        assert one_round_trip("SELECT 2", {}) == (2,)


def test_a_dead_connection_fails_once_as_operational_and_is_replaced(tmp_path, monkeypatch):
    with pooled(tmp_path, monkeypatch, idle=60) as (engine, pings):
        first = _backend(engine)
        _kill(first)
        with pytest.raises(sa.exc.OperationalError) as raised:  # within the idle window: not pinged
            one_round_trip("SELECT 1 + 1", {})
        assert raised.value.connection_invalidated and pings == []
        assert one_round_trip("SELECT pg_backend_pid()", {}) != (first,)


def test_a_connection_that_lay_idle_is_tested_first(tmp_path, monkeypatch):
    with pooled(tmp_path, monkeypatch, idle=0) as (engine, pings):
        first = _backend(engine)
        pings.clear()
        _kill(first)
        assert one_round_trip("SELECT pg_backend_pid()", {}) != (first,)  # replaced before use
        assert len(pings) >= 1
