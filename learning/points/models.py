"""Tables of the points ledger.

The ledger (:class:`LedgerEntry`) is append-only: nothing in the code updates or deletes
a row; a correction is a new row that points at the one it corrects.  Everything else
here is either configuration (rules and their settings history, periods) or derived
from the ledger and rebuildable from it (cap counters, cached totals, snapshots).
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.db import UTCDateTime, str_enum, utcnow
from learning.extensions import db
from learning.orgs.models import Member, Organisation


class Subject(str, enum.Enum):
    MEMBER = "member"
    ORGANISATION = "organisation"


class ActorKind(str, enum.Enum):
    SYSTEM = "system"
    REGISTRY = "registry"
    ADMIN = "admin"


class PointRule(db.Model):
    """What earns or costs points.  Its values live in :class:`RuleSetting` rows."""

    __tablename__ = "point_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[Subject] = mapped_column(str_enum(Subject))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    # None: a fixed number of points; "hour" / "credit_hour": points per unit of quantity.
    unit: Mapped[str | None] = mapped_column(String(20))
    # Manual rules take their points from the administrator, with a reason.
    manual: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    sign: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    variants: Mapped[dict | None] = mapped_column(JSON)


class RuleSetting(db.Model):
    """One version of a rule's values, for everyone (``organisation_id`` None) or one subtree.

    Append-only like the ledger: an edit adds a row, so the history of changes is the table.
    The effective setting for a member is the newest row of the deepest organisation on the
    member's path that is valid on the day.
    """

    __tablename__ = "point_rule_setting"
    __table_args__ = (Index("ix_point_rule_setting_lookup", "rule_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("point_rule.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    points: Mapped[int] = mapped_column(Integer)
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    period_cap: Mapped[int | None] = mapped_column(Integer)
    cap_period: Mapped[str] = mapped_column(String(10), default="month")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Manual rules (四眼原则): an entry of more than ``review_above`` points, or one that takes a
    # subject's manual points of the ``cap_period`` past ``review_total``, waits for a second
    # administrator's approval.  None: no such limit.
    review_above: Mapped[int | None] = mapped_column(Integer)
    review_total: Mapped[int | None] = mapped_column(Integer)

    rule: Mapped[PointRule] = relationship()
    organisation: Mapped[Organisation | None] = relationship()


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("rule_id", "subject_key", "source_key", name="uq_ledger_entry_award"),
        Index("ix_ledger_entry_member_period", "member_id", "counted_on"),
        Index("ix_ledger_entry_org_quarter", "organisation_id", "quarter_key"),
        Index("ix_ledger_entry_quarter", "quarter_key", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("point_rule.id"))
    subject: Mapped[Subject] = mapped_column(str_enum(Subject))
    # "m:<member id>" or "o:<organisation id>": one column for the idempotency key of both.
    subject_key: Mapped[str] = mapped_column(String(24))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    # The member's organisation when the points were earned: transfers keep history where it was made.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    source_key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(Integer)
    requested_points: Mapped[int] = mapped_column(Integer)
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    occurred_on: Mapped[date] = mapped_column(Date)
    counted_on: Mapped[date] = mapped_column(Date)
    month_key: Mapped[str] = mapped_column(String(8))
    quarter_key: Mapped[str] = mapped_column(String(8))
    year_key: Mapped[str] = mapped_column(String(4))
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind))
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rule: Mapped[PointRule] = relationship(lazy="joined")
    member: Mapped[Member | None] = relationship()
    organisation: Mapped[Organisation] = relationship()


class CapCounter(db.Model):
    """Points granted so far in one cap window (rule, subject, day or period).

    Its row is also the lock that serialises racing awards against the same cap: the
    award upserts it first, which takes a row lock on PostgreSQL and the write lock on SQLite.
    """

    __tablename__ = "point_cap_counter"
    __table_args__ = (UniqueConstraint("rule_id", "subject_key", "window_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("point_rule.id"))
    subject_key: Mapped[str] = mapped_column(String(24))
    window_key: Mapped[str] = mapped_column(String(16))
    granted: Mapped[int] = mapped_column(Integer, default=0)


class MemberTotal(db.Model):
    """Cached sum of a member's entries per period and the organisation they were earned in.

    Maintained in the same transaction as every ledger insert; ``verify_totals`` proves it
    equals a rebuild from the ledger.
    """

    __tablename__ = "point_member_total"
    __table_args__ = (
        UniqueConstraint("member_id", "organisation_id", "period_key"),
        Index("ix_point_member_total_period", "period_key", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    period_key: Mapped[str] = mapped_column(String(8))
    points: Mapped[int] = mapped_column(Integer, default=0)
    last_entry_id: Mapped[int] = mapped_column(Integer, default=0)


class MemberScore(db.Model):
    """A member's score in a period over every organisation they earned it in (the sum of their
    ``MemberTotal`` rows), kept for rankings: indexed by score so the top of a city's list is read
    from the index instead of ranking every member.  ``took_part`` sums the points of the
    participation rules (scoring.yaml), which say whether the member took part in the period.

    Maintained with ``MemberTotal`` in the transaction of every ledger insert; ``verify_totals``
    proves both equal a rebuild from the ledger.
    """

    __tablename__ = "point_member_score"
    __table_args__ = (Index("ix_point_member_score_rank", "period_key", "points", "last_entry_id"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(8), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, default=0)
    last_entry_id: Mapped[int] = mapped_column(Integer, default=0)
    took_part: Mapped[int] = mapped_column(Integer, default=0)


class OrgTotal(db.Model):
    """Cached sum of an organisation's own entries per period (meetings held, elections on time)."""

    __tablename__ = "point_org_total"
    __table_args__ = (UniqueConstraint("organisation_id", "period_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    period_key: Mapped[str] = mapped_column(String(8))
    points: Mapped[int] = mapped_column(Integer, default=0)


class Period(db.Model):
    """A period that has been opened for counting or closed for appraisal."""

    __tablename__ = "point_period"

    key: Mapped[str] = mapped_column(String(8), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


class Snapshot(db.Model):
    """The frozen scores of a closed period, with a checksum of the ledger rows behind them."""

    __tablename__ = "point_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_key: Mapped[str] = mapped_column(ForeignKey("point_period.key"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_count: Mapped[int] = mapped_column(Integer)
    max_entry_id: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    member_rows: Mapped[int] = mapped_column(Integer)
    org_rows: Mapped[int] = mapped_column(Integer)
    # The rules that counted as taking part when it was closed (None: snapshots older than that rule,
    # where any positive total counted).
    participation_rules: Mapped[list | None] = mapped_column(JSON)


class SnapshotMember(db.Model):
    __tablename__ = "point_snapshot_member"
    __table_args__ = (
        Index("ix_point_snapshot_member_org", "snapshot_id", "organisation_id"),
        Index("ix_point_snapshot_member_rank", "snapshot_id", "points", "last_entry_id"),
    )

    # A member as they were at the close (name, status and organisation then), written only by the
    # close's one INSERT … SELECT from ``member``, in the transaction that makes the snapshot; the
    # verify counts them and checks each against the ledger.  No foreign keys: their checks were
    # 660,000 lookups at a city's close (a third of it), and no row they would point to is deleted.
    snapshot_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(24))
    points: Mapped[int] = mapped_column(Integer)
    last_entry_id: Mapped[int] = mapped_column(Integer)
    # Took part in the period (points by one of scoring.yaml's participation rules).
    participated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class SnapshotOrg(db.Model):
    __tablename__ = "point_snapshot_org"
    __table_args__ = (UniqueConstraint("snapshot_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("point_snapshot.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    parent_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    member_count: Mapped[int] = mapped_column(Integer)
    active_members: Mapped[int] = mapped_column(Integer)
    member_points: Mapped[int] = mapped_column(Integer)
    own_points: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(db.Float)
    stars: Mapped[int] = mapped_column(Integer)


class DisputeStatus(str, enum.Enum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Dispute(db.Model):
    __tablename__ = "point_dispute"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[DisputeStatus] = mapped_column(str_enum(DisputeStatus), default=DisputeStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))

    entry: Mapped[LedgerEntry] = relationship(foreign_keys=[entry_id])
    member: Mapped[Member] = relationship()


class ManualStatus(str, enum.Enum):
    AUTOMATIC = "automatic"  # within the limits: counted at once
    PENDING = "pending"  # waits for a second administrator
    APPROVED = "approved"
    REFUSED = "refused"


class ManualAward(db.Model):
    """A bonus or deduction given by an administrator, and its review (四眼原则).

    Nothing counts before approval: the ledger entry is written when the award is automatic or
    approved, with the giver as its actor; this row keeps who gave and who approved it.
    """

    __tablename__ = "point_manual_award"
    __table_args__ = (Index("ix_point_manual_award_status", "status", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The form's id: a double-clicked submit records one award.
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("point_rule.id"))
    subject_key: Mapped[str] = mapped_column(String(24))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    # The member's organisation then, or the organisation given points: whose administrators review it.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    points: Mapped[int] = mapped_column(Integer)  # signed
    reason: Mapped[str] = mapped_column(Text)
    window_key: Mapped[str] = mapped_column(String(16))  # the review total's window ("rv:2026Q4")
    status: Mapped[ManualStatus] = mapped_column(str_enum(ManualStatus))
    given_by_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(Text)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)

    rule: Mapped[PointRule] = relationship(lazy="joined")
    member: Mapped[Member | None] = relationship()
    organisation: Mapped[Organisation] = relationship()
    given_by = relationship("Account", foreign_keys=[given_by_id], lazy="joined")
    reviewed_by = relationship("Account", foreign_keys=[reviewed_by_id], lazy="joined")
