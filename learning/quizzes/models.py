"""Question banks, quizzes, attempts and challenge campaigns.

Every question type keeps its answers the same way, as GIFT does: a list of answers, each with
a weight in percent and optional feedback.  A single-choice question is a list with one answer at
100; a multiple-choice question spreads positive weights over its right options; true/false is
the two answers "true" and "false"; fill-in lists the accepted texts.  Grading is therefore one
rule for all types (see :mod:`learning.quizzes.grading`), and a GIFT export is a faithful copy.

``Question.answers`` never leaves the server before an attempt is submitted: an attempt holds
its own order of options (``AttemptItem.option_order``) and the client only ever sees letters
for positions in that order.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
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


class QuestionKind(str, enum.Enum):
    SINGLE = "single"  # 单选
    MULTIPLE = "multiple"  # 多选
    TRUE_FALSE = "true_false"  # 判断
    FILL_BLANK = "fill_blank"  # 填空

    @property
    def has_options(self) -> bool:
        return self is not QuestionKind.FILL_BLANK


class QuizKind(str, enum.Enum):
    COURSE = "course"  # the quiz at the end of a course
    DAILY = "daily"  # 每日答题
    LEVEL = "level"  # one level of a challenge campaign


class Grading(str, enum.Enum):
    HIGHEST = "highest"
    LAST = "last"


class AttemptStatus(str, enum.Enum):
    OPEN = "open"
    SUBMITTED = "submitted"  # submitted by the member
    EXPIRED = "expired"  # time ran out or abandoned; graded with what was recorded in time


class ChallengeStatus(str, enum.Enum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # published; opens at starts_at
    OPEN = "open"
    CLOSED = "closed"


class QuestionBank(db.Model):
    __tablename__ = "question_bank"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # "file" for content/quizzes imports, "admin" for banks made or uploaded in the admin area.
    source: Mapped[str] = mapped_column(String(10), default="admin")
    # Drawn only by challenge campaigns, never by the daily quiz or course quizzes (practice that
    # hands out keys): its questions stay unseen until a campaign uses them.
    contest_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    questions: Mapped[list["Question"]] = relationship(back_populates="bank", order_by="Question.id")


class Question(db.Model):
    __tablename__ = "question"
    __table_args__ = (UniqueConstraint("bank_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_bank.id"), index=True)
    # Stable within the bank (the GIFT title, or a hash of the stem): a re-import updates in place.
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[QuestionKind] = mapped_column(str_enum(QuestionKind))
    stem: Mapped[str] = mapped_column(Text)
    # Text after the blank, for GIFT's "missing word" form (… {answers} …).
    stem_after: Mapped[str] = mapped_column(Text, default="")
    # [{"text": str, "weight": float (percent), "feedback": str}]; server-only until submission.
    answers: Mapped[list] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(120), default="", index=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    difficulty: Mapped[int] = mapped_column(Integer, default=2)  # 1 easy, 2 medium, 3 hard
    # A question removed from its bank is retired, never deleted: attempts keep pointing at it.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    bank: Mapped[QuestionBank] = relationship(back_populates="questions")


class Quiz(db.Model):
    """What an attempt draws and how it is graded: a course quiz, the daily quiz, or a level."""

    __tablename__ = "quiz"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[QuizKind] = mapped_column(str_enum(QuizKind))
    bank_ids: Mapped[list] = mapped_column(JSON, default=list)
    categories: Mapped[list] = mapped_column(JSON, default=list)  # empty: any
    tags: Mapped[list] = mapped_column(JSON, default=list)  # empty: any; else a question needs one of them
    question_count: Mapped[int] = mapped_column(Integer)
    seconds_per_question: Mapped[int] = mapped_column(Integer, default=60)
    pass_percent: Mapped[int] = mapped_column(Integer, default=60)
    max_attempts: Mapped[int | None] = mapped_column(Integer)  # course quizzes; None: unlimited
    grading: Mapped[Grading] = mapped_column(str_enum(Grading), default=Grading.HIGHEST)
    source: Mapped[str] = mapped_column(String(10), default="admin")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def time_limit_seconds(self) -> int:
        return self.question_count * self.seconds_per_question


class Challenge(db.Model):
    """答题闯关: run by an organisation for everyone in its subtree, levels passed in order."""

    __tablename__ = "challenge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[ChallengeStatus] = mapped_column(str_enum(ChallengeStatus), default=ChallengeStatus.DRAFT)
    attempts_per_day: Mapped[int] = mapped_column(Integer, default=3)
    bank_ids: Mapped[list] = mapped_column(JSON, default=list)
    # Bumped with every level result, in its transaction: the leaderboards cached for an older
    # version are stale (quizzes.boards).
    board_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()
    levels: Mapped[list["ChallengeLevel"]] = relationship(back_populates="challenge", order_by="ChallengeLevel.position")


class ChallengeLevel(db.Model):
    __tablename__ = "challenge_level"
    __table_args__ = (UniqueConstraint("challenge_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 …
    title: Mapped[str] = mapped_column(String(200))
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id"))
    points: Mapped[int] = mapped_column(Integer, default=3)

    challenge: Mapped[Challenge] = relationship(back_populates="levels")
    quiz: Mapped[Quiz] = relationship()


class Attempt(db.Model):
    __tablename__ = "attempt"
    __table_args__ = (
        # One open attempt per member and quiz: starting again resumes it.
        Index("uq_attempt_open", "member_id", "quiz_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_attempt_member_quiz_day", "member_id", "quiz_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The public id: unguessable, so attempt URLs reveal nothing and cannot be enumerated.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id"), index=True)
    level_id: Mapped[int | None] = mapped_column(ForeignKey("challenge_level.id"), index=True)
    # The member's organisation when the attempt started (the branch boards count it there).
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    status: Mapped[AttemptStatus] = mapped_column(str_enum(AttemptStatus), default=AttemptStatus.OPEN)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    local_date: Mapped[date] = mapped_column(Date)  # the day it started, in the configured zone
    question_count: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)  # percent, 0–100
    correct_count: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    seconds: Mapped[int | None] = mapped_column(Integer)  # from start to the last counted answer

    member: Mapped[Member] = relationship()
    quiz: Mapped[Quiz] = relationship()
    level: Mapped[ChallengeLevel | None] = relationship()
    items: Mapped[list["AttemptItem"]] = relationship(back_populates="attempt", order_by="AttemptItem.position")


class AttemptCounter(db.Model):
    """Attempts a member started in one window (a campaign's local day): the row that makes the
    attempts-a-day limit hold under concurrent starts.  A start upserts and so locks it before it
    reads it (a row lock on PostgreSQL, the write lock on SQLite), like the points cap counters."""

    __tablename__ = "attempt_counter"
    __table_args__ = (UniqueConstraint("member_id", "window_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    window_key: Mapped[str] = mapped_column(String(40))  # "c:<challenge id>:<local date>"
    used: Mapped[int] = mapped_column(Integer, default=0)


class AttemptItem(db.Model):
    __tablename__ = "attempt_item"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"))
    position: Mapped[int] = mapped_column(Integer)  # 1-based, as the member sees it
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    # Indexes into question.answers in the order shown (letters a, b, c … map onto it).
    option_order: Mapped[list] = mapped_column(JSON, default=list)
    # Chosen indexes into question.answers (choice types) or the typed text (fill-in).
    response: Mapped[list | None] = mapped_column(JSON)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(Float)  # 0–1, set at grading
    correct: Mapped[bool | None] = mapped_column(Boolean)

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    # Whoever reads an item reads its question (views, grading, review): load them together.
    question: Mapped[Question] = relationship(lazy="joined")


class LevelResult(db.Model):
    """A member's best result on one level; the leaderboard sums these."""

    __tablename__ = "level_result"
    __table_args__ = (UniqueConstraint("level_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("challenge_level.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    best_score: Mapped[float] = mapped_column(Float)
    best_seconds: Mapped[int] = mapped_column(Integer)
    passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class ChallengeStanding(db.Model):
    """A member's line on a campaign's leaderboard, kept in step with :class:`LevelResult`.

    Rebuildable from the level results (``services.rebuild_standings``); kept as a table so that
    the leaderboard of a city-wide campaign is one indexed read.
    """

    __tablename__ = "challenge_standing"
    __table_args__ = (
        UniqueConstraint("challenge_id", "member_id"),
        Index("ix_challenge_standing_rank", "challenge_id", "levels_passed", "total_score", "total_seconds"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    levels_passed: Mapped[int] = mapped_column(Integer, default=0)
    total_score: Mapped[float] = mapped_column(Float, default=0)
    total_seconds: Mapped[int] = mapped_column(Integer, default=0)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # ties: who got there first

    member: Mapped[Member] = relationship()
