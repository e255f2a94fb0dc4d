"""Heavy read-only pages on a PostgreSQL streaming replica (``LEARNING_DATABASE_REPLICA_URL``).

A view marked ``@reads_from_replica`` (rankings, appraisal, compliance, exports, leaderboards)
sends its SELECTs to the replica when one is configured, answers, and is not behind:

* **absent**: no URL, or SQLite: everything reads the primary;
* **down**: the replica does not answer within ``LEARNING_REPLICA_CONNECT_TIMEOUT`` (2 s): the
  primary, and the replica is not tried again for ``LEARNING_REPLICA_RETRY_SECONDS`` (30);
* **behind**: it has not replayed all of the primary's WAL and its last replayed transaction is
  older than ``LEARNING_REPLICA_MAX_LAG_SECONDS`` (30): the primary;
* **read-your-writes**: a request that writes records the primary's WAL position after its commit
  in the visitor's (signed) session; their next replica page waits for nobody: if the replica has
  not replayed that far, the page reads the primary.  Within one request, anything after a write,
  ``SELECT … FOR UPDATE`` and every INSERT/UPDATE/DELETE go to the primary.

Writes never go to the replica: only SELECT statements are routed, and PostgreSQL refuses writes
on a hot standby anyway.
"""
from __future__ import annotations

import logging
import time
from functools import wraps

from flask import current_app, g, has_request_context, request, session
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, text

log = logging.getLogger(__name__)
_down_until: dict[str, float] = {}
LSN_KEY = "_wal"


def lsn_value(lsn: str | None) -> int:
    """A PostgreSQL WAL position ('16/B374D848') as a number."""
    if not lsn:
        return 0
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def replica_engine(app):
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url or not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return None
    from learning.engines import extra_engine

    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})  # the primary's pool and limits
    connect_args = dict(options.pop("connect_args", {}) or {})
    connect_args["connect_timeout"] = int(app.config.get("REPLICA_CONNECT_TIMEOUT", 2))
    options["pool_pre_ping"] = True  # a replica read is a heavy page: a ping before it costs nothing
    return extra_engine("replica", url, connect_args=connect_args, **options)


def choose(app):
    """The replica engine if this request may read it now, else None (with the reason logged)."""
    engine = replica_engine(app)
    if engine is None:
        return None
    url = app.config["DATABASE_REPLICA_URL"]
    if _down_until.get(url, 0) > time.monotonic():
        return None
    try:
        with engine.connect() as conn:
            replayed, lag = conn.execute(text(
                "SELECT pg_last_wal_replay_lsn()::text, "
                "extract(epoch from now() - pg_last_xact_replay_timestamp())")).one()
    except Exception as exc:  # refused, timed out, not a replica
        _down_until[url] = time.monotonic() + int(app.config.get("REPLICA_RETRY_SECONDS", 30))
        log.warning("replica unavailable, reading the primary: %s", str(exc).splitlines()[0])
        return None
    if replayed is None:  # not in recovery: a primary given as replica; use the real one
        return None
    replayed = lsn_value(replayed)
    wrote = lsn_value(session.get(LSN_KEY)) if has_request_context() else 0
    if wrote and replayed < wrote:
        return None  # the visitor's own write has not arrived there yet
    from learning.extensions import db

    with db.engine.connect() as conn:
        primary = lsn_value(conn.scalar(text("SELECT pg_current_wal_lsn()::text")))
    if replayed < primary and (lag is None or float(lag) > float(app.config.get("REPLICA_MAX_LAG_SECONDS", 30))):
        log.info("replica behind (last replayed transaction %s s ago), reading the primary", lag)
        return None
    return engine


def reads_from_replica(view):
    """Mark a read-only view: its SELECTs may be answered by the replica (see the module).  Only
    GET and HEAD are routed: a form posted to the same address reads what it changes on the primary."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.replica_engine = choose(current_app) if request.method in ("GET", "HEAD") else None
        try:
            return view(*args, **kwargs)
        finally:
            g.replica_engine = None

    return wrapper


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session, sending a marked view's plain SELECTs to the replica."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and clause is not None and has_request_context():
            replica = getattr(g, "replica_engine", None)
            if (replica is not None and getattr(clause, "is_select", False) and not self.info.get("wrote")
                    and getattr(clause, "_for_update_arg", None) is None):
                return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _configured() -> bool:
    return bool(current_app.config.get("DATABASE_REPLICA_URL")) and \
        current_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


@event.listens_for(RoutingSession, "after_flush")
def _wrote(sess, _context):
    sess.info["wrote"] = True


@event.listens_for(RoutingSession, "after_commit")
def _remember(sess):
    """A visitor's write: keep the primary's WAL position in their session (read-your-writes)."""
    if not sess.info.pop("wrote", False) or not has_request_context() or not _configured():
        return
    if not request.cookies.get(current_app.config["SESSION_COOKIE_NAME"]):
        return  # API clients carry no session
    from learning.extensions import db

    with db.engine.connect() as conn:
        session[LSN_KEY] = conn.scalar(text("SELECT pg_current_wal_lsn()::text"))


@event.listens_for(RoutingSession, "after_rollback")
def _forget(sess):
    sess.info.pop("wrote", None)
