"""PgBouncer (Debian's) in transaction mode between the app and PostgreSQL: with
``LEARNING_DB_POOLER=pgbouncer`` pages answer, time limits hold, the scheduler's locks never stay
behind; without it the same traffic fails (the control that shows the PgBouncer here is real)."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import psycopg
import sqlalchemy as sa

from learning import create_app
from learning.extensions import db as _db
from tests.conftest import at_once, postgresql_url
from tests.factories import PASSWORD
from tests.servers import serve


def _app(url: str, tmp_path, **config):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path / "instance"),
                       "SECRET_KEY": "x", **config})


def test_without_the_setting_psycopg_prepared_statements_collide_in_pgbouncer(pgbouncer):
    """Two clients whose statements psycopg prepares (the 5th run of a query) share PgBouncer's
    server connections: one finds the other's ``_pg3_0``, or misses its own."""
    url = pgbouncer["url"].replace("postgresql+psycopg://", "postgresql://")
    first, second = psycopg.connect(url), psycopg.connect(url)
    errors = []
    try:
        for _round in range(6):
            for number, conn in ((1, first), (2, second)):
                try:
                    for _ in range(6):
                        conn.execute(f"SELECT {number} + %s", [1]).fetchone()
                    conn.commit()
                except (psycopg.errors.DuplicatePreparedStatement, psycopg.errors.InvalidSqlStatementName) as exc:
                    errors.append(type(exc).__name__)
                    conn.rollback()
    finally:
        first.close()
        second.close()
    assert errors, "expected PgBouncer's transaction mode to break prepared statements"


def test_with_the_pooler_setting_statements_and_time_limits_work_through_pgbouncer(pgbouncer, tmp_path):
    app = _app(pgbouncer["url"], tmp_path, DB_POOLER="pgbouncer")
    with app.app_context():
        results, engine = [], _db.engine

        def worker(number):
            def run():
                for _ in range(30):
                    with engine.begin() as conn:
                        results.append(conn.scalar(sa.text("SELECT :n + 1"), {"n": number}))
            return run

        at_once([worker(n) for n in range(6)])
        assert sorted(set(results)) == [1, 2, 3, 4, 5, 6] and len(results) == 180
        with _db.engine.begin() as conn:  # the limits of a web request, whichever server runs it
            assert conn.scalar(sa.text("SHOW statement_timeout")) == "15s"
            assert conn.scalar(sa.text("SHOW lock_timeout")) == "5s"
        _db.engine.dispose()
    job = _app(pgbouncer["url"], tmp_path, DB_POOLER="pgbouncer", DB_ROLE="job")
    with job.app_context():
        with _db.engine.begin() as conn:
            assert conn.scalar(sa.text("SHOW statement_timeout")) == "15min"
        _db.engine.dispose()


def _token(base: str) -> str:
    request = urllib.request.Request(base + "/api/v1/auth/token", method="POST",
                                     data=json.dumps({"username": "member", "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=10).read())["token"]


def _hammer(base: str, token: str, requests: int = 120) -> list[int]:
    statuses, lock = [], threading.Lock()

    def one_client():
        for _ in range(requests // 8):
            request = urllib.request.Request(base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            try:
                status = urllib.request.urlopen(request, timeout=20).status
            except urllib.error.HTTPError as error:
                status = error.code
            with lock:
                statuses.append(status)

    at_once([one_client] * 8)
    return statuses


def test_gunicorn_through_pgbouncer_answers_every_request(app, tree, tmp_path, pgbouncer):
    """Two workers of four threads (pools of 4 + 2) share PgBouncer's two server connections."""
    log = (tmp_path / "serve.log").open("w")
    process, base = serve(app, tmp_path, workers=2, threads=4, log=log, database_url=pgbouncer["url"],
                          extra_env={"LEARNING_DB_POOLER": "pgbouncer"})
    try:
        statuses = _hammer(base, _token(base))
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    assert statuses == [200] * 120, {s: statuses.count(s) for s in set(statuses)}
    assert '"level": "ERROR"' not in (tmp_path / "serve.log").read_text()


def test_without_the_setting_the_time_limits_are_lost_in_pgbouncer(pgbouncer, tmp_path):
    """The control: startup options do not survive PgBouncer (refused, or ignored as here)."""
    app = _app(pgbouncer["url"], tmp_path)
    with app.app_context():
        with _db.engine.begin() as conn:
            assert conn.scalar(sa.text("SHOW statement_timeout")) == "0"
        _db.engine.dispose()


def test_the_scheduler_lock_never_stays_behind_on_a_pooled_connection(app, pgbouncer, tmp_path):
    from learning.scheduler.locks import job_lock
    from learning.scheduler.services import run_job

    direct = sa.create_engine(postgresql_url())

    def advisory_locks():
        with direct.connect() as conn:
            return conn.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))

    bounced = _app(pgbouncer["url"], tmp_path, DB_POOLER="pgbouncer", DB_ROLE="job")
    with bounced.app_context():
        with job_lock("housekeeping") as held:
            assert held and advisory_locks() == 1
            with job_lock("housekeeping") as again:
                assert not again  # a second scheduler is kept out while the first runs
        assert advisory_locks() == 0
        runs = [run_job("housekeeping") for _ in range(3)]  # and the job runs every time after
        assert [r.status.value for r in runs] == ["succeeded"] * 3
        _db.session.remove()
        _db.engine.dispose()

    with_direct = _app(pgbouncer["url"], tmp_path, DB_POOLER="pgbouncer", DB_ROLE="job",
                       SCHEDULER_DATABASE_URL=postgresql_url())
    with with_direct.app_context():
        with job_lock("housekeeping") as held:
            with direct.connect() as conn:
                holder = conn.scalar(sa.text(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                    "WHERE l.locktype = 'advisory'"))
            assert held and holder == "learning-scheduler-lock"  # on the direct connection
        assert advisory_locks() == 0
        _db.session.remove()
        _db.engine.dispose()
    direct.dispose()
