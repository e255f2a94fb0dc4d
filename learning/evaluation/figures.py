"""What the system knows of a branch in a month, for its monthly report: activities held and attendance,
study hours on track, quiz participation, points and disputes.  Plain numbers (JSON), so a submitted
report keeps them as they were.  Members are the branch's active members (its groups' included) now."""
from __future__ import annotations

from sqlalchemy import distinct, func, select

from learning.courses.services import subtree_compliance
from learning.extensions import db
from learning.orglife.models import Activity, Attendance, Invitee
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import in_subtree
from learning.points import periods
from learning.points.models import Dispute, LedgerEntry
from learning.quizzes.models import Attempt, AttemptStatus


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def month_figures(branch: Organisation, month_key: str) -> dict:
    span = periods.parse(month_key)
    start, end = periods.utc_bounds(span)
    in_branch = in_subtree(Organisation.path, branch.path)
    members = (select(Member.id).join(Organisation, Organisation.id == Member.organisation_id)
               .where(in_branch, Member.active.is_(True)))
    member_count = db.session.scalar(select(func.count()).select_from(members.subquery())) or 0

    held = (select(Activity.id).join(Organisation, Organisation.id == Activity.organisation_id)
            .where(in_branch, Activity.cancelled_at.is_(None), Activity.starts_at >= start, Activity.starts_at < end))
    by_kind = dict(db.session.execute(
        select(Activity.kind, func.count()).where(Activity.id.in_(held)).group_by(Activity.kind)).all())
    expected = db.session.scalar(select(func.count()).select_from(Invitee).where(Invitee.activity_id.in_(held))) or 0
    present = db.session.scalar(select(func.count()).select_from(Attendance).where(
        Attendance.activity_id.in_(held), Attendance.member_id.in_(
            select(Invitee.member_id).where(Invitee.activity_id == Attendance.activity_id)))) or 0

    quarter = periods.quarter_key(span.starts_on)
    study = subtree_compliance(branch, quarter)

    quizzing = db.session.scalar(select(func.count(distinct(Attempt.member_id))).where(
        Attempt.member_id.in_(members), Attempt.status == AttemptStatus.SUBMITTED,
        Attempt.local_date.between(span.starts_on, span.ends_on))) or 0

    member_points = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.member_id.in_(members), LedgerEntry.month_key == month_key)) or 0
    own_points = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.member_id.is_(None), LedgerEntry.organisation_id == branch.id,
        LedgerEntry.month_key == month_key)) or 0
    opened = db.session.scalar(select(func.count()).select_from(Dispute).where(
        Dispute.member_id.in_(members), Dispute.created_at >= start, Dispute.created_at < end)) or 0
    decided = db.session.scalar(select(func.count()).select_from(Dispute).where(
        Dispute.member_id.in_(members), Dispute.resolved_at >= start, Dispute.resolved_at < end)) or 0
    return {
        "month": month_key,
        "members": member_count,
        "activities": {"held": sum(by_kind.values()), "by_kind": {k.value: n for k, n in sorted(by_kind.items())},
                       "expected": expected, "present": present, "attendance_rate": _share(present, expected)},
        "study": {"period": quarter, "members": len(study.lines), "on_track": study.compliant_count,
                  "rate": _share(study.compliant_count, len(study.lines))},
        "quizzes": {"members": quizzing, "rate": _share(quizzing, member_count)},
        "points": {"members": int(member_points), "branch": int(own_points),
                   "per_member": round(int(member_points) / member_count, 1) if member_count else 0.0},
        "disputes": {"opened": opened, "decided": decided},
    }
