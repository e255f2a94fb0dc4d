"""A branch's monthly report (月报告): the figures the system assembled and the secretary's account,
frozen when submitted."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.db import UTCDateTime, str_enum, utcnow
from learning.extensions import db
from learning.orgs.models import Organisation


class ReportStatus(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class MonthlyReport(db.Model):
    __tablename__ = "monthly_report"
    __table_args__ = (UniqueConstraint("organisation_id", "month_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))  # indexed by the unique pair
    month_key: Mapped[str] = mapped_column(String(7), index=True)  # "2026-11"
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus), default=ReportStatus.DRAFT)
    account: Mapped[str] = mapped_column(Text, default="")  # the secretary's own words (情况说明)
    figures: Mapped[dict | None] = mapped_column(JSON)  # what the system knew, frozen at submission
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # submitted after the deadline

    organisation: Mapped[Organisation] = relationship()
