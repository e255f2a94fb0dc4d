"""Registry connections and the events they send.

Events are stored before they are applied, so that nothing the registry sent is lost: an
event that cannot be applied stays with its error for an administrator to see and retry.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.db import UTCDateTime, str_enum, utcnow
from learning.extensions import db


class RegistryConnection(db.Model):
    """One registry that may send events (HMAC secret) and call SCIM (bearer token).

    The token is stored as its SHA-256 like API tokens; the HMAC secret must be kept as it is,
    because verifying a signature needs it.
    """

    __tablename__ = "registry_connection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Pull sync: the registry's own SCIM server, when it has one (token kept to call it).
    pull_url: Mapped[str | None] = mapped_column(String(300))
    pull_token: Mapped[str | None] = mapped_column(String(300))

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class EventStatus(str, enum.Enum):
    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"
    # The same thing under a new event id (a meeting already recorded): applied before, pays nothing.
    DUPLICATE = "duplicate"


class RegistryEvent(db.Model):
    __tablename__ = "registry_event"
    __table_args__ = (
        UniqueConstraint("connection_id", "event_id"),
        Index("ix_registry_event_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("registry_connection.id"))
    event_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(50), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[EventStatus] = mapped_column(str_enum(EventStatus), default=EventStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[RegistryConnection] = relationship()


class SyncStatus(str, enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SyncRun(db.Model):
    """One pull from a registry's SCIM server: what differed, and whether it was applied."""

    __tablename__ = "registry_sync_run"
    __table_args__ = (Index("ix_registry_sync_run_connection", "connection_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("registry_connection.id"))
    dry_run: Mapped[bool] = mapped_column(default=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[SyncStatus] = mapped_column(str_enum(SyncStatus), default=SyncStatus.RUNNING)
    error: Mapped[str | None] = mapped_column(Text)
    # Counts per action, and the first changes in detail, for the diff report.
    summary: Mapped[dict | None] = mapped_column(JSON)

    connection: Mapped[RegistryConnection] = relationship()
