"""Activities (三会一课, 主题党日, 志愿服务 …), who is expected, who came, who asked for leave; card readers
and the swipes they send; notices and their read receipts."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.db import UTCDateTime, str_enum, utcnow
from learning.extensions import db
from learning.orgs.models import Member, Organisation


class ActivityKind(str, enum.Enum):
    BRANCH_ASSEMBLY = "branch_assembly"  # 支部党员大会
    COMMITTEE_MEETING = "committee_meeting"  # 支委会
    GROUP_MEETING = "group_meeting"  # 党小组会
    PARTY_LECTURE = "party_lecture"  # 党课
    THEME_DAY = "theme_day"  # 主题党日
    VOLUNTEER_SERVICE = "volunteer_service"  # 志愿服务
    OTHER = "other"


class CheckInMethod(str, enum.Enum):
    CODE = "code"  # the rotating code, scanned or typed
    CARD = "card"  # an e通卡 reader
    HAND = "hand"  # marked by the secretary, with a reason
    REGISTRY = "registry"  # a registry meeting.held event


class LeaveStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class SwipeStatus(str, enum.Enum):
    CHECKED_IN = "checked_in"
    ALREADY = "already"  # the member was checked in before (another path or another swipe)
    UNKNOWN_CARD = "unknown_card"
    NO_ACTIVITY = "no_activity"  # a known member, but no activity of theirs was open at that time


class Activity(db.Model):
    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_org_starts", "organisation_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[ActivityKind] = mapped_column(str_enum(ActivityKind))
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    organiser_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    organiser_name: Mapped[str] = mapped_column(String(100))
    # The member rule attendance pays by (from content/orglife/activities.yaml, or chosen among its rules).
    points_rule: Mapped[str] = mapped_column(String(64))
    # The source of every award for this activity: ``activity:<id>``, or the registry's meeting key for a
    # meeting that came from the registry (so a meeting redelivered under a new event id pays nobody twice).
    award_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Per-activity key of the rotating check-in code (with the application's secret key).
    code_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()


class Invitee(db.Model):
    """A member expected at an activity (the attendance rate's denominator)."""

    __tablename__ = "activity_invitee"
    __table_args__ = (Index("ix_activity_invitee_member", "member_id"),)

    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)


class Attendance(db.Model):
    """One member present at one activity, whatever the path (the primary key makes it once)."""

    __tablename__ = "activity_attendance"
    __table_args__ = (Index("ix_activity_attendance_member", "member_id"),)

    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    method: Mapped[CheckInMethod] = mapped_column(str_enum(CheckInMethod))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    marked_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    reason: Mapped[str | None] = mapped_column(String(200))
    # Volunteer service: the hours of service recorded for this member (志愿服务时长).
    hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))

    member: Mapped[Member] = relationship()


class VolunteerSource(str, enum.Enum):
    ACTIVITY = "activity"  # present at a 志愿服务 activity here (code, card, by hand, or the registry's meeting)
    REGISTRY = "registry"  # a registry volunteer.service event


class VolunteerService(db.Model):
    """Hours of volunteer service (志愿服务时长) as hours, with their source: totalled per member and
    branch per year for the appraisal, whatever the points made of them (points are capped; hours are not)."""

    __tablename__ = "volunteer_service"
    __table_args__ = (Index("ix_volunteer_service_member_day", "member_id", "served_on"),
                      Index("ix_volunteer_service_org_day", "organisation_id", "served_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    # The member's organisation when they served: a branch's year keeps the hours of those who moved on.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    served_on: Mapped[date] = mapped_column(Date)  # the local day
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    source: Mapped[VolunteerSource] = mapped_column(str_enum(VolunteerSource))
    source_key: Mapped[str] = mapped_column(String(160), unique=True)  # once per attendance or registry event
    title: Mapped[str | None] = mapped_column(String(200))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeaveRequest(db.Model):
    __tablename__ = "activity_leave"

    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[LeaveStatus] = mapped_column(str_enum(LeaveStatus), default=LeaveStatus.PENDING)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member] = relationship()


class Device(db.Model):
    """A card reader (e通卡) registered by an administrator; it signs its posts with ``secret``."""

    __tablename__ = "checkin_device"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()


class MemberCard(db.Model):
    """An e通卡 number and the member who holds it."""

    __tablename__ = "member_card"

    card_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Swipe(db.Model):
    """Every swipe a reader sent, kept whatever became of it (an unknown card is reported, not lost).
    The unique key makes a replayed post change nothing."""

    __tablename__ = "card_swipe"
    __table_args__ = (UniqueConstraint("device_id", "card_number", "swiped_at"),
                      Index("ix_card_swipe_status", "status", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("checkin_device.id"))
    card_number: Mapped[str] = mapped_column(String(64))
    swiped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[SwipeStatus] = mapped_column(str_enum(SwipeStatus))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id"))


class NoticeKind(str, enum.Enum):
    MEETING = "meeting"  # 会议通知
    STUDY = "study"  # 专题学习
    DOCUMENT = "document"  # 文件
    OTHER = "other"


class Notice(db.Model):
    """通知公告: one organisation's notice to its subtree or some of its groups."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_org", "organisation_id", "published_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id"))
    author_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()


class NoticeReceipt(db.Model):
    """A notice delivered to one member; ``read_at`` is the read receipt."""

    __tablename__ = "notice_receipt"
    __table_args__ = (Index("ix_notice_receipt_member", "member_id", "notice_id"),)

    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member] = relationship()
