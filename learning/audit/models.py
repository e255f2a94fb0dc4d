"""The audit log's one table.  Append-only: nothing in the code updates or deletes a row."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.db import UTCDateTime, utcnow
from learning.extensions import db
from learning.orgs.models import Organisation


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_organisation", "organisation_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # "account.password_reset", "points.manual_given", … (see learning.audit.services.ACTIONS)
    action: Mapped[str] = mapped_column(String(48), index=True)
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    # Kept as written at the time: the log must read the same after renames.
    actor_name: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(64))  # "account:12", "member:5", "rule:daily_login", "period:2026Q3"
    # The organisation the action concerned (whose subtree's administrators see it); None: site-wide.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    address: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict | None] = mapped_column(JSON)

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
