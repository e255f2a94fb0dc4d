"""One lock per job, held for the whole run, so that two scheduler processes never run a job at
the same time.

PostgreSQL: a session-level advisory lock on a connection of its own (in autocommit, so it
holds no transaction open), on ``LEARNING_SCHEDULER_DATABASE_URL`` when set.  The server drops it
when the holder's connection dies, so a killed scheduler never leaves a job locked.  Behind
PgBouncer's transaction mode without that direct address, a session lock would stay behind on a
pooled server connection (and the job never run again): the lock is then transaction-scoped
(``pg_try_advisory_xact_lock``), held by a transaction left open for the run, which keeps its
server connection; it ends, and frees the lock, when the run ends or its connection dies.

SQLite (the embedded default, one machine): a row per job in ``job_lock``, taken by a
compare-and-set update.  The holder writes its host and process id; a lock whose process is
gone from this host is taken over at once, any other lapses after its lease.
"""
from __future__ import annotations

import hashlib
import os
import socket
import uuid
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import or_, select, text, update

from learning.db import insert_for, utcnow
from learning.extensions import db
from learning.scheduler.models import JobLock

LEASE = timedelta(hours=6)


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (Python's hash() differs between processes)."""
    return int.from_bytes(hashlib.sha256(f"learning.job:{name}".encode()).digest()[:8], "big", signed=True)


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@contextmanager
def job_lock(name: str):
    """Yields True while this process holds the lock of job ``name``, False if another holds it."""
    if db.engine.dialect.name == "postgresql":
        with _advisory_lock(name) as held:
            yield held
    else:
        with _row_lock(name) as held:
            yield held


@contextmanager
def _advisory_lock(name: str):
    from flask import current_app

    from learning.engines import lock_engine

    engine = lock_engine(current_app, db.engine)
    if engine is db.engine and current_app.config.get("DB_POOLER") == "pgbouncer":
        with _transaction_lock(name) as held:
            yield held
        return
    key = advisory_key(name)
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        held = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        try:
            yield held
        finally:
            if held:
                connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    except Exception:
        connection.invalidate()  # never hand a connection that may still hold the lock back to the pool
        raise
    finally:
        connection.close()


@contextmanager
def _transaction_lock(name: str):
    connection = db.engine.connect()
    try:
        transaction = connection.begin()
        held = bool(connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": advisory_key(name)}))
        try:
            yield held
        finally:
            transaction.rollback()  # ends the transaction: the lock goes with it
    except Exception:
        connection.invalidate()
        raise
    finally:
        connection.close()


def _process_gone(holder: str | None) -> bool:
    if not holder:
        return True
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _try_take(name: str, me: str) -> bool:
    now = utcnow()
    with db.engine.begin() as connection:
        if connection.scalar(select(JobLock.name).where(JobLock.name == name)) is None:
            connection.execute(insert_for(JobLock, "sqlite").values(name=name).on_conflict_do_nothing())
        current = connection.scalar(select(JobLock.holder).where(JobLock.name == name))
        free = or_(JobLock.holder.is_(None), JobLock.expires_at < now)
        if current is not None and _process_gone(current):
            free = or_(free, JobLock.holder == current)
        taken = connection.execute(
            update(JobLock).where(JobLock.name == name, free)
            .values(holder=me, acquired_at=now, expires_at=now + LEASE)
        ).rowcount
    return taken == 1


@contextmanager
def _row_lock(name: str):
    me = holder_id()
    held = _try_take(name, me)
    try:
        yield held
    finally:
        if held:
            with db.engine.begin() as connection:
                connection.execute(update(JobLock).where(JobLock.name == name, JobLock.holder == me)
                                   .values(holder=None, expires_at=None))
