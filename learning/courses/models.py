"""Courses, lessons, study sessions and credit.

Study time is what the server saw: a :class:`StudySession` is opened when a member opens a
lesson, and only heartbeats the server accepts add seconds to :class:`LessonProgress`.  A course
completed once gives one :class:`CourseCompletion`, which is where credit hours live; the hours
of a period are a sum over completions in it.
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.db import UTCDateTime, str_enum, utcnow
from learning.extensions import db
from learning.orgs.models import Organisation  # noqa: F401  (relationship target)


class CreditKind(str, enum.Enum):
    REQUIRED = "required"  # 必修
    ELECTIVE = "elective"  # 选修


class LessonKind(str, enum.Enum):
    TEXT = "text"
    VIDEO = "video"
    AUDIO = "audio"

    @property
    def is_media(self) -> bool:
        return self is not LessonKind.TEXT


class Course(db.Model):
    __tablename__ = "course"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(50), default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    credit_hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    credit_kind: Mapped[CreditKind] = mapped_column(str_enum(CreditKind))
    # Member statuses the course is meant for (empty: everyone).
    audience: Mapped[list] = mapped_column(JSON, default=list)
    quiz_slug: Mapped[str | None] = mapped_column(String(80))
    published: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # "file" for content/courses imports, "admin" for courses made in the admin area.
    source: Mapped[str] = mapped_column(String(10), default="admin")
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lessons: Mapped[list["Lesson"]] = relationship(back_populates="course", order_by="Lesson.position")

    @property
    def live_lessons(self) -> list["Lesson"]:
        return [lesson for lesson in self.lessons if lesson.retired_at is None]


class Lesson(db.Model):
    __tablename__ = "lesson"
    __table_args__ = (UniqueConstraint("course_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LessonKind] = mapped_column(str_enum(LessonKind))
    body: Mapped[str] = mapped_column(Text, default="")
    # A stored media file's name (instance/media) or an external URL.
    media: Mapped[str | None] = mapped_column(String(300))
    media_seconds: Mapped[int | None] = mapped_column(Integer)
    min_seconds: Mapped[int] = mapped_column(Integer)
    # A lesson removed from its course is retired, never deleted: progress on it stays.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    course: Mapped[Course] = relationship(back_populates="lessons")

    @property
    def external_media(self) -> bool:
        return bool(self.media) and self.media.startswith(("http://", "https://"))


class CourseAssignment(db.Model):
    """A course made required for everyone under an organisation in a period (quarter or year)."""

    __tablename__ = "course_assignment"
    __table_args__ = (UniqueConstraint("course_id", "organisation_id", "period_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    period_key: Mapped[str] = mapped_column(String(10), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship()
    organisation: Mapped["Organisation"] = relationship()


class StudyQuota(db.Model):
    """Credit hours a member owes per quarter or year, for a subtree (the deepest one wins)."""

    __tablename__ = "study_quota"
    __table_args__ = (UniqueConstraint("organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    period_kind: Mapped[str] = mapped_column(String(10))  # quarter | year
    required_hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    elective_hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StudySession(db.Model):
    """One lesson open on one device; at most one open per member (a partial unique index)."""

    __tablename__ = "study_session"
    __table_args__ = (
        Index("uq_study_session_open", "member_id", unique=True,
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_position: Mapped[float | None] = mapped_column(Float)
    credited_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # Progress counts whole seconds; the fraction a beat earned beyond them is carried to the next
    # beat, or a member loses up to a second on every beat.
    carry_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    rejected_beats: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(20))

    lesson: Mapped[Lesson] = relationship()


class LessonProgress(db.Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("member_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    reached_end: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CourseCompletion(db.Model):
    """Credit granted once per member and course, counted in the period it was completed."""

    __tablename__ = "course_completion"
    __table_args__ = (
        UniqueConstraint("member_id", "course_id"),
        Index("ix_course_completion_quarter", "quarter_key", "member_id"),
        Index("ix_course_completion_year", "year_key", "member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    credit_hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    credit_kind: Mapped[CreditKind] = mapped_column(str_enum(CreditKind))
    quarter_key: Mapped[str] = mapped_column(String(7))
    year_key: Mapped[str] = mapped_column(String(4))
    certificate_no: Mapped[str] = mapped_column(String(32), unique=True)

    course: Mapped[Course] = relationship()
