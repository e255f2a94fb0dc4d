"""组织生活台账: each branch's activities, attendance, leave and notices by period, as the committee
above it supervises them.

"Held" means at least one member attended.  A kind required monthly is due once in every month of
the period; a branch is *behind* when a month (quarter, year) that is over had none.  Attendance
rate = expected members present / expected members, over the period's ended activities.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from learning.db import utcnow
from learning.extensions import db
from learning.orglife import setup
from learning.orglife.models import (
    Activity,
    ActivityKind,
    Attendance,
    Invitee,
    LeaveRequest,
    LeaveStatus,
    Notice,
    NoticeReceipt,
)
from learning.orgs.models import Member, OrgKind, Organisation
from learning.orgs.scoping import in_subtree
from learning.points import periods


@dataclass
class KindLine:
    kind: ActivityKind
    frequency: str | None
    windows: list[str]  # the period's windows of this frequency
    held_in: set[str] = field(default_factory=set)
    activities: int = 0
    missed: list[str] = field(default_factory=list)  # windows that are over with none held

    @property
    def required(self) -> int:
        return len(self.windows)


@dataclass
class BranchRecord:
    organisation: Organisation
    kinds: dict = field(default_factory=dict)  # ActivityKind → KindLine
    expected: int = 0
    present: int = 0
    on_leave: int = 0
    notices: int = 0
    volunteer_hours: float = 0

    @property
    def rate(self) -> float | None:
        return self.present / self.expected if self.expected else None

    @property
    def behind(self) -> bool:
        return any(line.missed for line in self.kinds.values())


def windows_of(span: periods.PeriodSpan, frequency: str) -> list[str]:
    """The month / quarter / year keys a period holds ('2026Q4', 'month' → 2026-10, 2026-11, 2026-12);
    none when the frequency is longer than the period."""
    order = {"month": 1, "quarter": 2, "year": 3}
    if order[frequency] > order.get(span.kind, 4):
        return []
    keys, year, month = [], span.starts_on.year, span.starts_on.month
    while date(year, month, 1) <= span.ends_on:
        key = periods.key_of_kind(date(year, month, 1), frequency)
        if key not in keys:
            keys.append(key)
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return keys


bounds = periods.utc_bounds


def _branch_of():
    """The branch an activity's organisation counts for: itself, or the branch of a group."""
    return case((Organisation.kind == OrgKind.GROUP, Organisation.parent_id), else_=Organisation.id)


def overview(root: Organisation, period_key: str, today: date | None = None) -> list[BranchRecord]:
    """One record per branch under ``root`` (``root`` itself when it is a branch), behind first."""
    span = periods.parse(period_key)
    today = today or periods.local_today()
    start, end = bounds(span)
    branches = db.session.scalars(select(Organisation).where(
        Organisation.kind == OrgKind.BRANCH, Organisation.active.is_(True),
        in_subtree(Organisation.path, root.path)).order_by(Organisation.path)).all()
    with_groups = set(db.session.scalars(select(Organisation.parent_id).where(
        Organisation.kind == OrgKind.GROUP, Organisation.active.is_(True), in_subtree(Organisation.path, root.path))))
    records = {b.id: _empty_record(b, span, b.id in with_groups) for b in branches}
    if not records:
        return []
    branch = _branch_of().label("branch")
    in_period = and_(Activity.cancelled_at.is_(None), Activity.starts_at >= start, Activity.starts_at < end,
                     in_subtree(Organisation.path, root.path))
    held = (select(branch, Activity.kind, Activity.starts_at).join(Activity.organisation)
            .where(in_period, select(Attendance.member_id).where(Attendance.activity_id == Activity.id).exists()))
    for branch_id, kind, starts_at in db.session.execute(held):
        record = records.get(branch_id)
        if record is None or kind not in record.kinds:
            continue
        line = record.kinds[kind]
        line.activities += 1
        if line.frequency:
            line.held_in.add(periods.key_of_kind(periods.local_date(starts_at), line.frequency))
    ended = and_(in_period, Activity.ends_at < utcnow())
    expected = (select(branch, func.count(), func.count(Attendance.member_id))
                .select_from(Invitee).join(Activity, Activity.id == Invitee.activity_id).join(Activity.organisation)
                .outerjoin(Attendance, and_(Attendance.activity_id == Invitee.activity_id,
                                            Attendance.member_id == Invitee.member_id))
                .where(ended).group_by(branch))
    for branch_id, total, present in db.session.execute(expected):
        if branch_id in records:
            records[branch_id].expected, records[branch_id].present = total, present
    leave = (select(branch, func.count()).select_from(LeaveRequest).join(Activity, Activity.id == LeaveRequest.activity_id)
             .join(Activity.organisation).where(in_period, LeaveRequest.status == LeaveStatus.APPROVED).group_by(branch))
    for branch_id, count in db.session.execute(leave):
        if branch_id in records:
            records[branch_id].on_leave = count
    hours = (select(branch, func.coalesce(func.sum(Attendance.hours), 0)).select_from(Attendance)
             .join(Activity, Activity.id == Attendance.activity_id).join(Activity.organisation)
             .where(in_period, Activity.kind == ActivityKind.VOLUNTEER_SERVICE).group_by(branch))
    for branch_id, total in db.session.execute(hours):
        if branch_id in records:
            records[branch_id].volunteer_hours = float(total)
    notices = (select(branch, func.count()).select_from(Notice).join(Notice.organisation)
               .where(Notice.published_at >= start, Notice.published_at < end,
                      in_subtree(Organisation.path, root.path)).group_by(branch))
    for branch_id, count in db.session.execute(notices):
        if branch_id in records:
            records[branch_id].notices = count
    for record in records.values():
        for line in record.kinds.values():
            line.missed = [w for w in line.windows if w not in line.held_in and periods.parse(w).ends_on < today]
    return sorted(records.values(), key=lambda r: (not r.behind, r.organisation.path))


def _empty_record(branch: Organisation, span, has_groups: bool) -> BranchRecord:
    record = BranchRecord(branch)
    for kind, spec in setup.load().kinds.items():
        due = spec.required and (has_groups or not spec.groups_only)
        windows = windows_of(span, spec.required) if due else []
        record.kinds[kind] = KindLine(kind, spec.required if windows else None, windows)
    return record


def branch_activities(branch: Organisation, period_key: str) -> list[Activity]:
    start, end = bounds(periods.parse(period_key))
    return db.session.scalars(select(Activity).join(Activity.organisation).where(
        in_subtree(Organisation.path, branch.path), Activity.starts_at >= start, Activity.starts_at < end)
        .order_by(Activity.starts_at, Activity.id)).all()


def branch_notices(branch: Organisation, period_key: str) -> list[tuple[Notice, int, int]]:
    """(notice, recipients, read) of the notices the branch (or its groups) published in the period."""
    start, end = bounds(periods.parse(period_key))
    rows = db.session.execute(
        select(Notice, func.count(NoticeReceipt.member_id), func.count(NoticeReceipt.read_at))
        .join(Notice.organisation).outerjoin(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)
        .where(in_subtree(Organisation.path, branch.path), Notice.published_at >= start, Notice.published_at < end)
        .group_by(Notice.id).order_by(Notice.published_at)).all()
    return [(n, total, read) for n, total, read in rows]


def volunteer_hours(branch: Organisation, period_key: str) -> list[tuple[Member, float]]:
    """Each member's hours of volunteer service in the period (志愿服务时长), most first."""
    start, end = bounds(periods.parse(period_key))
    rows = db.session.execute(
        select(Member, func.sum(Attendance.hours)).join(Attendance, Attendance.member_id == Member.id)
        .join(Activity, Activity.id == Attendance.activity_id).join(Organisation, Organisation.id == Activity.organisation_id)
        .where(Activity.kind == ActivityKind.VOLUNTEER_SERVICE, Activity.starts_at >= start, Activity.starts_at < end,
               in_subtree(Organisation.path, branch.path))
        .group_by(Member.id).order_by(func.sum(Attendance.hours).desc(), Member.id)).all()
    return [(member, float(total or 0)) for member, total in rows]


def overview_xlsx(root: Organisation, period_key: str, rows: list[BranchRecord]) -> bytes:
    """The 台账 overview as a workbook (written row by row: a city's 14,000 branches stay small)."""
    import io

    from openpyxl import Workbook

    from learning import labels
    from learning.orglife import names
    from learning.spreadsheet import safe_row

    book = Workbook(write_only=True)
    sheet = book.create_sheet(labels.period(period_key))
    kinds = [k for k, spec in setup.load().kinds.items() if spec.required]
    sheet.append(safe_row([root.name, labels.period(period_key)]))
    sheet.append(safe_row([str(_l("Branch"))] + [f"{names.kind(k)}（{names.frequency(setup.load().kinds[k].required)}）"
                                                  for k in kinds]
                          + [str(_l("Attendance rate")), str(_l("On leave")), str(_l("Notices")),
                             str(_l("Volunteer hours")), str(_l("Behind"))]))
    for record in rows:
        cells = [record.organisation.name]
        for kind in kinds:
            line = record.kinds[kind]
            cells.append(f"{len(line.held_in)}/{line.required}" if line.required else str(line.activities))
        cells += [round(record.rate * 100, 1) if record.rate is not None else "", record.on_leave, record.notices,
                  record.volunteer_hours, str(_l("yes")) if record.behind else ""]
        sheet.append(safe_row(cells))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
