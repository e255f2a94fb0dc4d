"""Completion, credit hours, quotas and the compliance report.

Credit counts in the period in which the course was completed (Asia/Shanghai).  Whether hours
are required or elective is decided at completion: required if the course is required by
default or assigned as required to one of the member's organisations for that quarter or year.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, or_, select

from learning.courses.models import (
    Course,
    CourseAssignment,
    CourseCompletion,
    CreditKind,
    Lesson,
    LessonProgress,
    StudyQuota,
)
from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.points import periods
from learning.points import services as points
from learning.quizzes import grading

DEFAULT_QUOTA = ("quarter", Decimal("8"), Decimal("3"))


class CourseError(ValueError):
    pass


# -- completion -------------------------------------------------------------------------------
def lesson_is_complete(lesson: Lesson, progress: LessonProgress) -> bool:
    if progress.seconds < lesson.min_seconds:
        return False
    return progress.reached_end if lesson.kind.is_media else True


def quiz_passed(member: Member, course: Course) -> bool:
    """A course without a quiz has nothing to pass; one with a quiz needs its counted grade passed."""
    return course.quiz_slug is None or grading.quiz_passed(member.id, course.quiz_slug)


def on_lesson_completed(member: Member, lesson: Lesson, moment: datetime) -> bool:
    """Award the lesson point; grant the course if this was its last open lesson.  Returns
    whether the course was completed now."""
    points.award("lesson_completed", member=member, source_key=f"lesson:{lesson.id}", occurred_at=moment,
                 title=lesson.title)
    return complete_course_if_done(member, lesson.course, moment)


def complete_course_if_done(member: Member, course: Course, moment: datetime) -> bool:
    lesson_ids = [lesson.id for lesson in course.live_lessons]
    if not lesson_ids or not quiz_passed(member, course):
        return False
    done = db.session.scalar(
        select(func.count()).select_from(LessonProgress).where(
            LessonProgress.member_id == member.id, LessonProgress.lesson_id.in_(lesson_ids),
            LessonProgress.completed_at.is_not(None))
    )
    if done < len(lesson_ids):
        return False
    if db.session.scalar(select(CourseCompletion.id).where(CourseCompletion.member_id == member.id,
                                                           CourseCompletion.course_id == course.id)):
        return False
    day = periods.local_date(moment)
    completion = CourseCompletion(
        member_id=member.id, course_id=course.id, organisation_id=member.organisation_id, completed_at=moment,
        credit_hours=course.credit_hours, credit_kind=credit_kind_for(member, course, day),
        quarter_key=periods.quarter_key(day), year_key=periods.year_key(day),
        certificate_no=f"{periods.year_key(day)}-{course.id:04d}-{secrets.token_hex(4).upper()}",
    )
    db.session.add(completion)
    db.session.flush()
    points.award("course_completed", member=member, source_key=f"course:{course.id}", occurred_at=moment,
                 quantity=course.credit_hours, title=course.title)
    return True


def credit_kind_for(member: Member, course: Course, day) -> CreditKind:
    if course.credit_kind == CreditKind.REQUIRED:
        return CreditKind.REQUIRED
    return CreditKind.REQUIRED if course.id in required_course_ids(member.organisation, day) else CreditKind.ELECTIVE


def required_course_ids(organisation: Organisation, day) -> set[int]:
    """Courses assigned as required to the organisation or one above it, for the day's quarter or year."""
    keys = [periods.quarter_key(day), periods.year_key(day)]
    return set(db.session.scalars(
        select(CourseAssignment.course_id).where(
            CourseAssignment.organisation_id.in_(organisation.ancestor_ids()), CourseAssignment.period_key.in_(keys))
    ))


# -- quotas -----------------------------------------------------------------------------------
@dataclass
class Quota:
    period_kind: str  # quarter | year
    required: Decimal
    elective: Decimal
    set_by: int | None  # organisation id, None for the default


def default_quota() -> Quota:
    setting = current_app.config.get("STUDY_QUOTA") or {}
    kind, required, elective = DEFAULT_QUOTA
    return Quota(setting.get("period", kind), Decimal(str(setting.get("required", required))),
                 Decimal(str(setting.get("elective", elective))), None)


def quota_for(organisation: Organisation, rows: dict[int, StudyQuota] | None = None) -> Quota:
    """The deepest quota set on the organisation or above it.  ``rows``: every quota, loaded once
    by a caller that resolves many organisations (there is at most one per organisation)."""
    ids = organisation.ancestor_ids()
    if rows is None:
        rows = {q.organisation_id: q for q in db.session.scalars(select(StudyQuota).where(StudyQuota.organisation_id.in_(ids)))}
    for org_id in reversed(ids):
        if org_id in rows:
            q = rows[org_id]
            return Quota(q.period_kind, q.required_hours, q.elective_hours, org_id)
    return default_quota()


def set_quota(organisation: Organisation, period_kind: str, required: Decimal, elective: Decimal) -> StudyQuota:
    if period_kind not in ("quarter", "year"):
        raise CourseError("a quota is per quarter or per year")
    if required < 0 or elective < 0 or required > 500 or elective > 500:
        raise CourseError("hours are between 0 and 500")
    quota = db.session.scalar(select(StudyQuota).where(StudyQuota.organisation_id == organisation.id))
    if quota is None:
        quota = StudyQuota(organisation_id=organisation.id)
        db.session.add(quota)
    quota.period_kind, quota.required_hours, quota.elective_hours = period_kind, required, elective
    db.session.flush()
    return quota


def assign_required(course: Course, organisation: Organisation, period_key: str, actor=None) -> CourseAssignment:
    span = periods.parse(period_key)
    if span.kind not in ("quarter", "year"):
        raise CourseError("assign a course for a quarter (2026Q4) or a year (2026)")
    existing = db.session.scalar(select(CourseAssignment).where(
        CourseAssignment.course_id == course.id, CourseAssignment.organisation_id == organisation.id,
        CourseAssignment.period_key == period_key))
    if existing:
        return existing
    assignment = CourseAssignment(course_id=course.id, organisation_id=organisation.id, period_key=period_key,
                                  created_by_id=actor.id if actor is not None else None)
    db.session.add(assignment)
    db.session.flush()
    return assignment


# -- hours ------------------------------------------------------------------------------------
@dataclass
class Hours:
    required: Decimal = Decimal("0")
    elective: Decimal = Decimal("0")

    @property
    def total(self) -> Decimal:
        return self.required + self.elective


def period_for(quota: Quota, day=None) -> str:
    day = day or periods.local_today()
    return periods.quarter_key(day) if quota.period_kind == "quarter" else periods.year_key(day)


def hours_by_member(member_ids: list[int], period_key: str) -> dict[int, Hours]:
    column = CourseCompletion.quarter_key if "Q" in period_key else CourseCompletion.year_key
    result: dict[int, Hours] = {member_id: Hours() for member_id in member_ids}
    for chunk in range(0, len(member_ids), 5000):
        rows = db.session.execute(
            select(CourseCompletion.member_id, CourseCompletion.credit_kind, func.sum(CourseCompletion.credit_hours))
            .where(column == period_key, CourseCompletion.member_id.in_(member_ids[chunk:chunk + 5000]))
            .group_by(CourseCompletion.member_id, CourseCompletion.credit_kind)
        ).all()
        for member_id, kind, hours in rows:
            setattr(result[member_id], kind.value, Decimal(hours or 0))
    return result


def member_hours(member: Member, period_key: str) -> Hours:
    return hours_by_member([member.id], period_key)[member.id]


@dataclass
class HoursAgainstQuota:
    period_key: str
    quota: Quota
    hours: Hours


def hours_against_quota(member: Member, period_key: str | None = None) -> HoursAgainstQuota:
    """A member's hours in a period (default: the current one of their quota) and their quota."""
    quota = quota_for(member.organisation)
    period_key = period_key or period_for(quota)
    return HoursAgainstQuota(period_key, quota, member_hours(member, period_key))


# -- the compliance report --------------------------------------------------------------------
@dataclass
class MemberLine:
    member: Member
    hours: Hours
    quota: Quota
    behind_required: Decimal
    behind_elective: Decimal
    need_required: Decimal  # the quota for this period (a yearly quota is a quarter's times four)
    need_elective: Decimal

    @property
    def compliant(self) -> bool:
        return self.behind_required <= 0 and self.behind_elective <= 0


@dataclass
class Compliance:
    period_key: str
    lines: list[MemberLine] = field(default_factory=list)

    @property
    def compliant_count(self) -> int:
        return sum(1 for line in self.lines if line.compliant)

    @property
    def rate(self) -> float:
        return self.compliant_count / len(self.lines) if self.lines else 0.0

    @property
    def behind(self) -> list[MemberLine]:
        return [line for line in self.lines if not line.compliant]


def compliance(members: list[Member], period_key: str) -> Compliance:
    """Each member's hours in the period against their quota; hours follow the member, so a
    member who transferred in mid-period brings the hours earned before the transfer."""
    report = Compliance(period_key)
    hours = hours_by_member([m.id for m in members], period_key)
    quotas: dict[int, Quota] = {}
    rows = {q.organisation_id: q for q in db.session.scalars(select(StudyQuota))}
    yearly = "Q" not in period_key
    for member in members:
        quota = quotas.get(member.organisation_id)
        if quota is None:
            quota = quotas[member.organisation_id] = quota_for(member.organisation, rows)
        required, elective = quota.required, quota.elective
        if yearly and quota.period_kind == "quarter":
            required, elective = required * 4, elective * 4
        elif not yearly and quota.period_kind == "year":
            required, elective = required / 4, elective / 4
        got = hours[member.id]
        report.lines.append(MemberLine(member, got, quota, max(Decimal(0), required - got.required),
                                       max(Decimal(0), elective - got.elective), required, elective))
    return report


def course_completion_counts(member_ids: list[int], period_key: str) -> dict[int, int]:
    """Per course, how many of these members completed it in the period (the chart per course)."""
    column = CourseCompletion.quarter_key if "Q" in period_key else CourseCompletion.year_key
    counts: dict[int, int] = {}
    for chunk in range(0, len(member_ids), 5000):  # PostgreSQL takes at most 65,535 parameters a statement
        for course_id, n in db.session.execute(
                select(CourseCompletion.course_id, func.count())
                .where(column == period_key, CourseCompletion.member_id.in_(member_ids[chunk:chunk + 5000]))
                .group_by(CourseCompletion.course_id)):
            counts[course_id] = counts.get(course_id, 0) + n
    return counts


# -- catalogue --------------------------------------------------------------------------------
def catalogue(member: Member, *, q: str = "", show: str = "", category: str = "",
              course_id: int | None = None) -> list[dict]:
    """Published courses for the member with their state: required for me, in progress, done."""
    query = select(Course).where(Course.published.is_(True)).order_by(Course.id)
    if course_id is not None:
        query = query.where(Course.id == course_id)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(Course.title.like(like), Course.summary.like(like)))
    if category:
        query = query.where(Course.category == category)
    courses = db.session.scalars(query).all()
    today = periods.local_today()
    required_ids = required_course_ids(member.organisation, today)
    done = set(db.session.scalars(select(CourseCompletion.course_id).where(CourseCompletion.member_id == member.id)))
    started = set(db.session.scalars(
        select(Lesson.course_id).join(LessonProgress, LessonProgress.lesson_id == Lesson.id)
        .where(LessonProgress.member_id == member.id, LessonProgress.seconds > 0)))
    items = []
    for course in courses:
        if course.audience and member.status.value not in course.audience:
            continue
        required = course.credit_kind == CreditKind.REQUIRED or course.id in required_ids
        state = "done" if course.id in done else "in_progress" if course.id in started else "new"
        if show == "required" and not required:
            continue
        if show == "elective" and required:
            continue
        if show in ("in_progress", "done") and state != show:
            continue
        items.append({"course": course, "required": required, "state": state})
    return items


def course_progress(member: Member, course: Course) -> dict[int, LessonProgress]:
    ids = [lesson.id for lesson in course.lessons]
    return {p.lesson_id: p for p in db.session.scalars(
        select(LessonProgress).where(LessonProgress.member_id == member.id, LessonProgress.lesson_id.in_(ids)))}


def study_record(member: Member) -> list[CourseCompletion]:
    return list(db.session.scalars(
        select(CourseCompletion).where(CourseCompletion.member_id == member.id).order_by(CourseCompletion.completed_at.desc())))


def completion_of(member: Member, course: Course) -> CourseCompletion | None:
    return db.session.scalar(select(CourseCompletion).where(CourseCompletion.member_id == member.id,
                                                            CourseCompletion.course_id == course.id))


def subtree_compliance(organisation: Organisation, period_key: str) -> Compliance:
    """The report for everyone active under ``organisation`` now (a member who transferred in
    is listed here with all their hours of the period; one who left is listed where they went)."""
    from sqlalchemy.orm import joinedload

    from learning.orgs.scoping import in_subtree

    members = db.session.scalars(
        select(Member).join(Member.organisation).options(joinedload(Member.organisation))
        .where(in_subtree(Organisation.path, organisation.path), Member.active.is_(True))
        .order_by(Organisation.path, Member.name)
    ).all()
    return compliance(list(members), period_key)


def branch_of(organisation: Organisation) -> Organisation:
    return organisation.parent if organisation.kind.value == "group" and organisation.parent else organisation


def compliance_by_branch(organisation: Organisation, report: Compliance) -> list[dict]:
    """Per branch (a group counts with its branch): members, on track, rate."""
    rows: dict[int, dict] = {}
    for line in report.lines:
        branch = branch_of(line.member.organisation)
        row = rows.setdefault(branch.id, {"id": branch.id, "name": branch.name, "members": 0, "on_track": 0})
        row["members"] += 1
        row["on_track"] += 1 if line.compliant else 0
    for row in rows.values():
        row["rate"] = row["on_track"] / row["members"] if row["members"] else 0.0
    return sorted(rows.values(), key=lambda r: (r["rate"], r["name"]))


def child_orgs(organisation: Organisation) -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(Organisation.parent_id == organisation.id,
                                                               Organisation.active.is_(True)).order_by(Organisation.name)))
