"""Registry connections and the event inbox.

Receiving a batch: verify the signature (HMAC-SHA256 over "timestamp.body", compared in
constant time, timestamp within five minutes), store every event that is new (idempotent by
the registry's event id, also when several deliveries race), commit, then apply each newly
stored event in a transaction of its own.  A failed event keeps its error and can be retried.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from learning.accounts.services import token_digest
from learning.db import utcnow
from learning.extensions import db
from learning.registry import events as handlers
from learning.registry.models import EventStatus, RegistryConnection, RegistryEvent
from learning.signatures import fresh, sign  # noqa: F401  (sign: what a registry sends, for docs and tests)

TOKEN_PREFIX = "reg_"


class RegistryError(ValueError):
    pass


@dataclass
class IssuedConnection:
    connection: RegistryConnection
    token: str  # shown once
    secret: str  # shown once


def create_connection(name: str, *, actor=None) -> IssuedConnection:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise RegistryError("a connection name has 1 to 100 characters")
    if db.session.scalar(select(RegistryConnection.id).where(RegistryConnection.name == name)):
        raise RegistryError(f"a connection named {name!r} exists")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    secret = secrets.token_hex(32)
    connection = RegistryConnection(
        name=name, token_hash=token_digest(token), token_prefix=token[:8], secret=secret,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(connection)
    db.session.flush()
    return IssuedConnection(connection, token, secret)


def revoke_connection(connection: RegistryConnection) -> None:
    if connection.revoked_at is None:
        connection.revoked_at = utcnow()


def set_pull_source(connection: RegistryConnection, url: str, token: str | None) -> None:
    """Where pull sync reads the registry's roster; an empty token keeps the one stored."""
    from urllib.parse import urlsplit

    url = (url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 300:
        raise RegistryError("the SCIM address is an http(s) URL such as https://registry.example/scim/v2")
    token = (token or "").strip()
    if not token and not connection.pull_token:
        raise RegistryError("the registry's SCIM token is required")
    if len(token) > 300:
        raise RegistryError("the token is longer than 300 characters")
    connection.pull_url = url
    if token:
        connection.pull_token = token


def connection_for_token(token: str) -> RegistryConnection | None:
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    connection = db.session.scalar(select(RegistryConnection).where(RegistryConnection.token_hash == token_digest(token)))
    return connection if connection is not None and connection.active else None


def authenticate(timestamp: str | None, signature: str | None, body: bytes, now: float | None = None) -> RegistryConnection:
    """The connection whose secret signed this body, or RegistryError with the reason."""
    if not timestamp or not signature:
        raise RegistryError("missing X-Registry-Timestamp or X-Registry-Signature")
    try:
        sent = int(timestamp)
    except ValueError:
        raise RegistryError("X-Registry-Timestamp must be Unix seconds") from None
    if not fresh(sent, now):
        raise RegistryError("timestamp more than 5 minutes off: refused (clock skew or a replay)")
    found = None
    for connection in db.session.scalars(select(RegistryConnection).where(RegistryConnection.revoked_at.is_(None))):
        # Every active secret is compared, in constant time, so timing reveals nothing.
        if hmac.compare_digest(sign(connection.secret, timestamp, body), signature):
            found = connection
    if found is None:
        raise RegistryError("signature does not match")
    return found


@dataclass
class EventResult:
    event_id: str
    status: str  # applied, failed, duplicate, refused (malformed: not stored)
    detail: str | None = None


def receive(connection: RegistryConnection, batch: list[dict]) -> list[EventResult]:
    """Store the new events of a validated batch, then apply each; returns one result per event."""
    stored: list[tuple[dict, RegistryEvent | None]] = []
    for item in batch:
        event = RegistryEvent(
            connection_id=connection.id, event_id=item["id"], type=item["type"],
            occurred_at=item["occurred_at"], payload={"data": item.get("data")},
        )
        try:
            with db.session.begin_nested():
                db.session.add(event)
                db.session.flush()
        except IntegrityError:
            event = None  # delivered before (or by a racing delivery): it changes nothing
        stored.append((item, event))
    connection.last_event_at = utcnow()
    db.session.commit()

    results = []
    for item, event in stored:
        if event is None:
            results.append(EventResult(item["id"], "duplicate"))
            continue
        apply_event(event.id)
        event = db.session.get(RegistryEvent, event.id)
        results.append(EventResult(item["id"], event.status.value, event.error or event.result))
    return results


def apply_event(event_pk: int) -> RegistryEvent:
    """Apply one stored event in its own transaction; on failure keep the error, change nothing else."""
    event = db.session.get(RegistryEvent, event_pk)
    if event.status in (EventStatus.APPLIED, EventStatus.DUPLICATE):
        return event
    try:
        result = handlers.apply(event)
    except handlers.DuplicateEvent as exc:
        db.session.rollback()
        event = db.session.get(RegistryEvent, event_pk)
        event.status = EventStatus.DUPLICATE
        event.result, event.error, event.applied_at = str(exc)[:500], None, utcnow()
    except Exception as exc:  # any failure: the event's changes are rolled back and the error kept
        db.session.rollback()
        event = db.session.get(RegistryEvent, event_pk)
        event.status = EventStatus.FAILED
        event.error = str(exc)[:2000] if isinstance(exc, handlers.EventError) else f"{type(exc).__name__}: {exc}"[:2000]
        if not isinstance(exc, handlers.EventError):
            current_app.logger.exception("registry event %s failed", event.event_id)
    else:
        event.status = EventStatus.APPLIED
        event.result = result[:500] if result else None
        event.error = None
        event.applied_at = utcnow()
    event.attempts += 1
    db.session.commit()
    return event


def retry_failed(limit: int = 500) -> int:
    """Apply failed events again, oldest first (also the scheduler's job); returns how many now apply."""
    ids = db.session.scalars(
        select(RegistryEvent.id).where(RegistryEvent.status == EventStatus.FAILED).order_by(RegistryEvent.id).limit(limit)
    ).all()
    return sum(1 for pk in ids if apply_event(pk).status == EventStatus.APPLIED)


def parse_occurred_at(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("occurred_at needs a time zone offset")
    return moment
