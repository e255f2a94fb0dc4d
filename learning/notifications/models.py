"""Messages to members.  Stored as a kind and its parameters, worded when shown, so that each
member reads them in their own language."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from learning.db import UTCDateTime, utcnow
from learning.extensions import db


class Notification(db.Model):
    """One message to one member.  ``key`` is unique per member, so a job that runs twice (or
    two jobs racing) sends a reminder once."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("member_id", "key"),
        Index("ix_notification_member_read", "member_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
