"""A branch's monthly report (月报告): the figures the system assembled and the secretary's account,
frozen when submitted."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
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


class BallotWindow(db.Model):
    """民主评议: the window a committee opens once a year for the branches below it."""

    __tablename__ = "ballot_window"
    __table_args__ = (UniqueConstraint("organisation_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    year: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()


class Ballot(db.Model):
    """That a member voted (turnout) and their self-assessment: never what they chose."""

    __tablename__ = "ballot"
    __table_args__ = (UniqueConstraint("window_id", "voter_member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("ballot_window.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    voter_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    self_assessment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BallotVote(db.Model):
    """One grade given to one member.  Secret: no link to the voter or their ballot; the row carries only an
    HMAC of the server's secret key with the window, the voter and the ratee (so the voter can change it
    until the window closes, and one voter's grades cannot be grouped), a random key, and no time."""

    __tablename__ = "ballot_vote"
    __table_args__ = (UniqueConstraint("window_id", "voter_token", "ratee_member_id"),)

    key: Mapped[str] = mapped_column(String(32), primary_key=True)  # random: rows carry no order
    window_id: Mapped[int] = mapped_column(ForeignKey("ballot_window.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    voter_token: Mapped[str] = mapped_column(String(64))
    ratee_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    grade: Mapped[str] = mapped_column(String(24))  # excellent, qualified, basically_qualified, unqualified


class InspectionStatus(str, enum.Enum):
    DRAFT = "draft"  # the inspector is filling it in: the branch does not see it yet
    PUBLISHED = "published"  # the branch sees its result and may dispute an item once


class DisputeState(str, enum.Enum):
    OPEN = "open"
    ACCEPTED = "accepted"  # the score was changed
    REJECTED = "rejected"


class Inspection(db.Model):
    """季督查: a committee's quarterly inspection of one branch against content/evaluation/checklist.yaml."""

    __tablename__ = "inspection"
    __table_args__ = (UniqueConstraint("organisation_id", "quarter_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    quarter_key: Mapped[str] = mapped_column(String(6), index=True)  # "2026Q4"
    status: Mapped[InspectionStatus] = mapped_column(str_enum(InspectionStatus), default=InspectionStatus.DRAFT)
    inspector_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    items: Mapped[list["InspectionItem"]] = relationship(order_by="InspectionItem.position", cascade="all, delete-orphan")


class InspectionItem(db.Model):
    __tablename__ = "inspection_item"
    __table_args__ = (UniqueConstraint("inspection_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    max_points: Mapped[int] = mapped_column(Integer)
    computed: Mapped[bool] = mapped_column(Boolean)  # True: from a figure the system computes
    figure: Mapped[float | None] = mapped_column(Float)  # the computed share, 0–1
    score: Mapped[float | None] = mapped_column(Float)  # None: not scored yet (an entered item)
    comment: Mapped[str] = mapped_column(Text, default="")
    dispute_reason: Mapped[str | None] = mapped_column(Text)  # the branch's objection: once per item
    dispute_state: Mapped[DisputeState | None] = mapped_column(str_enum(DisputeState))
    dispute_reply: Mapped[str | None] = mapped_column(Text)
    disputed_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


class YearlyResult(db.Model):
    """年考评 confirmed: the branches' parts, scores and stars as the committee confirmed them, frozen, with a
    SHA-256 of the rows so that a printed table can be checked against a recomputation."""

    __tablename__ = "yearly_result"
    __table_args__ = (UniqueConstraint("organisation_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    year: Mapped[int] = mapped_column(Integer)
    rows: Mapped[list] = mapped_column(JSON)
    checksum: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    organisation: Mapped[Organisation] = relationship()


class NominationStatus(str, enum.Enum):
    NOMINATED = "nominated"
    APPROVED = "approved"
    REFUSED = "refused"


class HonourQuota(db.Model):
    """How many nominations for a title each organisation below a committee may make in a year."""

    __tablename__ = "honour_quota"
    __table_args__ = (UniqueConstraint("organisation_id", "year", "title"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))  # the committee setting it
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(40))
    quota: Mapped[int] = mapped_column(Integer)


class Nomination(db.Model):
    """表彰: a member or an organisation put forward for a title, and the committee's decision."""

    __tablename__ = "nomination"
    __table_args__ = (UniqueConstraint("year", "title", "nominee_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(40))
    nominee_key: Mapped[str] = mapped_column(String(24))  # "member:5" or "org:3": once per title and year
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)  # a member's title
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)  # an organisation's
    nominated_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    nominated_by_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[NominationStatus] = mapped_column(str_enum(NominationStatus), default=NominationStatus.NOMINATED)
    nominated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    member = relationship("Member")
    organisation: Mapped[Organisation | None] = relationship(foreign_keys=[organisation_id])
    nominated_by_org: Mapped[Organisation] = relationship(foreign_keys=[nominated_by_org_id])
