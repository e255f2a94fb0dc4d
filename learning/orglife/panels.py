"""The member page's organisational-life panel (registered with learning.web.panels): this quarter's
activities the member was expected at, how many they attended, their leave, and the year's volunteer hours."""
from __future__ import annotations

from sqlalchemy import func, select

from learning.extensions import db
from learning.orglife import volunteer
from learning.orglife.models import Activity, Attendance, Invitee, LeaveRequest, LeaveStatus
from learning.orglife.records import bounds
from learning.orgs.scoping import Permission, scope_for
from learning.points import periods


def attendance_panel(member, viewer):
    if not scope_for(viewer).can_member(Permission.VIEW_MEMBERS, member):
        return None
    quarter = periods.current_quarter()
    start, end = bounds(periods.parse(quarter))
    in_quarter = (Activity.starts_at >= start, Activity.starts_at < end, Activity.cancelled_at.is_(None))
    expected = db.session.scalar(select(func.count()).select_from(Invitee).join(Activity, Activity.id == Invitee.activity_id)
                                 .where(Invitee.member_id == member.id, *in_quarter)) or 0
    recent = db.session.execute(
        select(Activity, Attendance.method, LeaveRequest.status)
        .outerjoin(Attendance, (Attendance.activity_id == Activity.id) & (Attendance.member_id == member.id))
        .outerjoin(LeaveRequest, (LeaveRequest.activity_id == Activity.id) & (LeaveRequest.member_id == member.id))
        .join(Invitee, (Invitee.activity_id == Activity.id) & (Invitee.member_id == member.id))
        .where(*in_quarter).order_by(Activity.starts_at.desc()).limit(8)).all()
    present = db.session.scalar(select(func.count()).select_from(Attendance).join(Activity, Activity.id == Attendance.activity_id)
                                .where(Attendance.member_id == member.id, *in_quarter)) or 0
    on_leave = db.session.scalar(select(func.count()).select_from(LeaveRequest).join(
        Activity, Activity.id == LeaveRequest.activity_id).where(
        LeaveRequest.member_id == member.id, LeaveRequest.status == LeaveStatus.APPROVED, *in_quarter)) or 0
    hours = volunteer.member_totals([member.id], periods.local_today().year).get(member.id, 0)  # registry's too
    from learning.db import utcnow
    from learning.orglife import names

    return {"names": names, "now": utcnow(), "quarter": quarter, "expected": expected, "present": present, "on_leave": on_leave,
            "volunteer_hours": hours or 0, "recent": recent}


def register() -> None:
    from learning.web.panels import register_member_panel

    register_member_panel("orglife/_member_panel.html", attendance_panel, order=40)
