"""The one table of background exports: a request, its progress and, when ready, the file."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from learning.accounts.models import Account
from learning.db import UTCDateTime, str_enum, utcnow
from learning.extensions import db
from learning.orgs.models import Organisation


class ExportStatus(str, enum.Enum):
    REQUESTED = "requested"  # waiting for the scheduler process
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class ExportJob(db.Model):
    __tablename__ = "export_job"
    __table_args__ = (
        Index("ix_export_job_status", "status", "id"),
        Index("ix_export_job_requested_by", "requested_by_id", "id"),
        # one file of a kind, organisation and period waiting or being made per requester, even when
        # the same request arrives twice at once
        Index("uq_export_job_active", "requested_by_id", "kind", "organisation_id", "period_key", unique=True,
              sqlite_where=text("status IN ('requested', 'running')"),
              postgresql_where=text("status IN ('requested', 'running')")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # a registered kind: "rankings", "study-hours"
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    period_key: Mapped[str] = mapped_column(String(16))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    status: Mapped[ExportStatus] = mapped_column(str_enum(ExportStatus), default=ExportStatus.REQUESTED)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last progress written
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)  # expected, for the progress bar
    filename: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(Integer)
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    error: Mapped[str | None] = mapped_column(Text)

    organisation: Mapped[Organisation] = relationship()
    requested_by: Mapped[Account] = relationship()

    @property
    def percent(self) -> int:
        if self.status is ExportStatus.READY:
            return 100
        return min(99, 100 * self.rows_done // self.rows_total) if self.rows_total else 0
