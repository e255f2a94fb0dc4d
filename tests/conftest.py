"""Fixtures: one application per test session on SQLite or PostgreSQL, cleaned after each test.

``LEARNING_TEST_DB`` chooses the database (``sqlite`` or ``postgresql``); ``make test`` runs
the whole suite once with each.  Tests commit for real (threads and a live server share the
database), so every table is emptied after each test instead of rolling back.
"""
from __future__ import annotations

import os
import re
import socket
import sys
import threading
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from werkzeug.serving import make_server

from learning import create_app
from learning.extensions import db as _db
from learning.extensions import limiter

IN_CI = os.environ.get("CI", "").lower() == "true"
# Property tests (hypothesis): CI runs the same examples every time, so a failure there is one a developer
# can run again; elsewhere new ones each run. No example database is kept between runs.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
hypothesis_settings.register_profile("local", database=None)
hypothesis_settings.load_profile("ci" if IN_CI else "local")
DB_KIND = os.environ.get("LEARNING_TEST_DB", "sqlite")
PG_URL = os.environ.get("LEARNING_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


# LEARNING_TEST_CLOCK=2027-01-01T00:30+08:00 runs the whole suite with the clock moved there (and
# ticking): the suite must pass whatever the date, so no test may assume the real calendar.
TEST_CLOCK = os.environ.get("LEARNING_TEST_CLOCK", "").strip()


@pytest.fixture(scope="session", autouse=True)
def _suite_clock():
    if not TEST_CLOCK:
        yield None
        return
    import datetime as _dt

    import time_machine

    with time_machine.travel(_dt.datetime.fromisoformat(TEST_CLOCK), tick=True) as traveller:
        yield traveller


# The console script of this virtualenv, for tests that start `learning …` processes.
LEARNING = os.path.join(os.path.dirname(sys.executable), "learning")


def clock_prefix() -> str:
    """Python code that puts a child process on this process's clock when a test has moved it
    (time-machine moves only this process): prepend it to a ``python -c`` script."""
    from time_machine import escape_hatch

    if not escape_hatch.is_travelling():
        return ""
    import datetime as _dt

    now = _dt.datetime.now(_dt.timezone.utc).isoformat()
    return (f"import datetime as _d, time_machine as _t; "
            f"_t.travel(_d.datetime.fromisoformat({now!r}), tick=True).start()\n")


def learning_command(*args: str) -> list[str]:
    """The command line of ``learning ARGS`` for a child process, on this process's clock."""
    prefix = clock_prefix()
    if not prefix:
        return [LEARNING, *args]
    return [sys.executable, "-c", prefix + f"import sys; sys.argv = ['learning', *{list(args)!r}]; "
            "from learning.cli import main; main()"]


def free_port() -> int:
    """A loopback port nobody listens on (for servers a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def at_once(targets, timeout: float = 120) -> None:
    """Run each callable in its own thread, started together, and wait for all of them (the races
    tests provoke)."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)


def postgresql_url() -> str:
    from learning.config import normalise_database_url

    return normalise_database_url(PG_URL)


def postgresql_problem() -> str | None:
    try:
        engine = sa.create_engine(postgresql_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if DB_KIND == "postgresql":
        problem = postgresql_problem()
        if problem:
            message = f"PostgreSQL at {PG_URL} does not answer ({problem}); start it or set LEARNING_TEST_DATABASE_URL"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        return postgresql_url()
    if DB_KIND != "sqlite":
        pytest.fail(f"LEARNING_TEST_DB must be sqlite or postgresql, not {DB_KIND!r}", pytrace=False)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    """A brand-new database: a file on SQLite, a fresh database on the PostgreSQL server."""
    if DB_KIND == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"learning_migrations_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgresql_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgresql_url()).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class FreshContextClient(FlaskClient):
    """Each request gets its own application context, as it would in a server.

    Flask reuses an already pushed context of the same app, so without this a test
    holding ``db`` open would share ``g`` (the logged-in user, cached scopes, the
    CSRF token) and the database session between its requests.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "LOGIN_RATE_LIMIT": "5 per minute",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast; production uses scrypt
            # Race tests hold 20 connections at once.
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 25, "max_overflow": 10},
        }
    )
    application.test_client_class = FreshContextClient
    with application.app_context():
        _drop_everything()
        _db.create_all()
        from flask_migrate import stamp

        stamp()  # the models are the head's schema (a test proves it): /readyz checks the head
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _drop_everything():
    """Drop every table, including ones left by an older schema or by Alembic."""
    engine = _db.engine
    meta = sa.MetaData()
    meta.reflect(bind=engine)
    meta.drop_all(bind=engine)


@pytest.fixture(autouse=True)
def _clean(request):
    """Empty every table and forget rate-limit hits after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        empty_database()
        limiter.reset()
        app.extensions.pop("learning-cache", None)  # cached boards of ids the next test reuses


def empty_database():
    """Delete every row of every table (inside an application context)."""
    _db.session.remove()
    tables = list(reversed(_db.metadata.sorted_tables))
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def db(app):
    with app.app_context():
        yield _db
        _db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def switch_language(client, code: str):
    """Choose a language as the footer's button does: a POST with the page's CSRF token."""
    page = "/account" if client.get("/account").status_code == 200 else "/login"
    return client.post(f"/lang/{code}", data={"csrf_token": csrf_token(client, page)})


def login(client, username: str, password: str, *, follow=False):
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=follow
    )


@pytest.fixture
def count_queries(app):
    """Count the SQL statements run inside a ``with count_queries() as counter`` block."""

    @contextmanager
    def counter():
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        engine = _db.engine
        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)

    return counter


@pytest.fixture(scope="session")
def live_server_factory():
    """Serve an app on a free loopback port in a thread; used by browser and multi-client tests."""
    servers = []

    def start(application):
        server = make_server("127.0.0.1", 0, application, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def tree(db):
    """The small tree of tests/factories.py, as plain ids."""
    from tests.factories import build_tree

    return build_tree().ids()


@pytest.fixture
def rules(db):
    """The shipped point rules."""
    from learning.config import PACKAGE_DIR
    from learning.points.services import load_rules

    load_rules(PACKAGE_DIR / "content" / "points" / "rules.yaml")
    db.session.commit()
