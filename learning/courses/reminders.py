"""Reminding members who are behind on their study hours.

Two reminders a period: at two thirds of it and at the start of its last week (for a quarter
of 92 days: 1 December and 25 December).  A member is reminded in the period kind of their
quota (a subtree with a yearly quota hears about the year).  A reminder day missed while the
scheduler was down is caught up on the next days of ``CATCH_UP_DAYS``; the notification's key
keeps it to one message per member, period and stage.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.orm import joinedload

from learning.courses import compliance as study_report
from learning.courses.services import compliance
from learning.extensions import db
from learning.notifications import services as notifications
from learning.orgs.models import Member, Organisation
from learning.points import periods

TWO_THIRDS = "two_thirds"
LAST_WEEK = "last_week"
CATCH_UP_DAYS = 3
BATCH = 5000


def stage_dates(span: periods.PeriodSpan) -> dict[str, date]:
    days = (span.ends_on - span.starts_on).days + 1
    return {TWO_THIRDS: span.starts_on + timedelta(days=days * 2 // 3), LAST_WEEK: span.ends_on - timedelta(days=6)}


def due_stages(today: date) -> list[tuple[str, str]]:
    """(period key, stage) of the reminders due today: the quarter's and the year's."""
    due = []
    for key in (periods.quarter_key(today), periods.year_key(today)):
        span = periods.parse(key)
        for stage, on in stage_dates(span).items():
            if on <= today < on + timedelta(days=CATCH_UP_DAYS) and today <= span.ends_on:
                due.append((key, stage))
    return due


@dataclass
class ReminderReport:
    today: date
    due: list[str] = field(default_factory=list)
    behind: int = 0
    notified: int = 0
    emailed: int = 0

    def as_dict(self) -> dict:
        return {"today": self.today.isoformat(), "due": self.due, "behind": self.behind,
                "notified": self.notified, "emailed": self.emailed}


def remind_behind(today: date | None = None) -> ReminderReport:
    """Notify everyone behind on hours for each reminder due today.  On PostgreSQL the database
    picks and inserts the reminders (INSERT … SELECT over the 学时 report, one statement per top
    organisation); elsewhere members are read in batches of ``BATCH``, committing per batch."""
    today = today or periods.local_today()
    report = ReminderReport(today)
    for period_key, stage in due_stages(today):
        report.due.append(f"{period_key}:{stage}")
        key = f"hours:{period_key}:{stage}"
        if db.engine.dialect.name == "postgresql":
            for root in db.session.scalars(select(Organisation).where(Organisation.parent_id.is_(None))
                                           .order_by(Organisation.id)).all():
                chosen, new = notifications.notify_selected(notifications.HOURS_BEHIND, key,
                                                            _behind_select(root, period_key, stage))
                report.behind += chosen
                report.notified += new
                db.session.commit()
        else:
            for behind in behind_batches(period_key, stage):
                report.behind += len(behind)
                report.notified += len(notifications.notify(notifications.HOURS_BEHIND, key, behind))
                db.session.commit()
                db.session.expunge_all()
        report.emailed += notifications.email_unsent(key)
    return report


def _kind(period_key: str) -> str:
    return "quarter" if "Q" in period_key else "year"


def behind_batches(period_key: str, stage: str):
    """{member id: reminder parameters} of the members behind, ``BATCH`` members read at a time."""
    ends_on = periods.parse(period_key).ends_on.isoformat()
    last_id = 0
    while True:
        members = db.session.scalars(
            select(Member).options(joinedload(Member.organisation))
            .where(Member.active.is_(True), Member.id > last_id).order_by(Member.id).limit(BATCH)
        ).all()
        if not members:
            return
        last_id = members[-1].id
        yield {
            line.member.id: {"period_key": period_key, "stage": stage, "ends_on": ends_on,
                             "behind_required": format(line.behind_required.normalize(), "f"),
                             "behind_elective": format(line.behind_elective.normalize(), "f")}
            for line in compliance(list(members), period_key).behind
            if line.quota.period_kind == _kind(period_key)
        }


def _behind_select(root: Organisation, period_key: str, stage: str):
    """(member_id, params) of the members below ``root`` behind in ``period_key`` whose quota is
    of its kind, with the parameters :func:`behind_batches` gives (PostgreSQL: trim_scale writes a
    number as Decimal.normalize() does)."""
    lines = study_report.lines_query(root, period_key, behind_only=True).subquery()
    ends_on = periods.parse(period_key).ends_on.isoformat()
    params = func.json_build_object(
        "period_key", literal(period_key), "stage", literal(stage), "ends_on", literal(ends_on),
        "behind_required", cast(func.trim_scale(lines.c.behind_required), String),
        "behind_elective", cast(func.trim_scale(lines.c.behind_elective), String))
    return select(lines.c.member_id, params.label("params")).where(lines.c.quota_kind == _kind(period_key))


# Above this many members a home page does not count who is behind (the 学时 page does, paged).
NUDGE_LIMIT = 3000


def behind_in_scope(account, period_key: str | None = None) -> tuple[list, str] | None:
    """The compliance lines of the members ``account`` manages who are behind this quarter, and the
    period; None when they manage more than :data:`NUDGE_LIMIT` members (too many to count on a home page)."""
    from sqlalchemy import func

    from learning.orgs.scoping import Permission, scope_for

    scope = scope_for(account)
    query = scope.members(Permission.MANAGE_MEMBERS).where(Member.active.is_(True))
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if total > NUDGE_LIMIT:
        return None
    period_key = period_key or periods.current_quarter()
    members = db.session.scalars(query.order_by(Member.id)).unique().all()
    return compliance(list(members), period_key).behind, period_key


def nudge(account) -> int:
    """One click of a secretary: remind the members they manage who are behind this quarter; once a day
    (the notification key holds the day).  Returns how many were reminded now."""
    found = behind_in_scope(account)
    if found is None:
        return 0
    lines, period_key = found
    ends_on = periods.parse(period_key).ends_on.isoformat()
    key = f"hours:{period_key}:nudge:{account.id}:{periods.local_today().isoformat()}"
    behind = {line.member.id: {"period_key": period_key, "stage": "nudge", "ends_on": ends_on,
                               "behind_required": format(line.behind_required.normalize(), "f"),
                               "behind_elective": format(line.behind_elective.normalize(), "f")} for line in lines}
    return len(notifications.notify(notifications.HOURS_BEHIND, key, behind))
