"""Points on an administrator's home: manual entries to approve and disputes to decide (what needs
doing), and the organisation's points by month (its figures and their trend)."""
from __future__ import annotations

from datetime import date

from flask import url_for
from flask_babel import format_date, gettext as _, pgettext
from sqlalchemy import func, select

from learning import charts
from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import Permission, in_subtree, scope_for
from learning.points import manual, periods, queries
from learning.points.models import LedgerEntry
from learning.web.figures import Figure
from learning.web.todo import Todo

MONTHS = 6


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def points_todos(account) -> list[Todo]:
    scope = scope_for(account)
    if not scope.has_any(Permission.MANAGE_MEMBERS):
        return []
    clause = scope.org_clause(Permission.MANAGE_MEMBERS)
    items = []
    disputes = _count(queries.disputes_in_scope(clause))
    if disputes:
        items.append(Todo("disputes", disputes, _("Objections to points waiting for a decision"),
                          url_for("points_review.disputes")))
    approvals = _count(manual.pending_in_scope(clause))
    if approvals:
        items.append(Todo("approvals", approvals, _("Manual points waiting for a second administrator"),
                          url_for("points_review.approvals")))
    return items


def _month_starts(today: date, months: int) -> list[date]:
    starts, year, month = [], today.year, today.month
    for _i in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def points_by_month(org: Organisation, today: date, months: int = MONTHS) -> list[tuple[date, int]]:
    """The points of the members now under ``org`` in each of the last ``months`` local months (this
    one so far included), oldest first."""
    starts = _month_starts(today, months)
    per_day = db.session.execute(
        select(LedgerEntry.counted_on, func.sum(LedgerEntry.points))
        .join(Member, Member.id == LedgerEntry.member_id).join(Organisation, Organisation.id == Member.organisation_id)
        .where(in_subtree(Organisation.path, org.path), LedgerEntry.counted_on >= starts[0],
               LedgerEntry.counted_on <= today)
        .group_by(LedgerEntry.counted_on)).all()
    totals = {start: 0 for start in starts}
    for day, points in per_day:
        totals[date(day.year, day.month, 1)] += int(points or 0)
    return list(totals.items())


def points_figures(org: Organisation) -> list[Figure]:
    series = points_by_month(org, periods.local_today())
    last, this = series[-2][1], series[-1][1]
    change = this - last
    note = (_("%(n)d more than last month", n=change) if change > 0
            else _("%(n)d fewer than last month", n=-change) if change < 0 else _("the same as last month"))
    unit = pgettext("unit", "points")
    return [Figure("points_month", _("Points this month"), charts.with_unit(this, unit),
                   link=url_for("points.rankings_page", org=org.id), note=note,
                   trend=charts.bar_chart([format_date(d, "LLL") for d, _n in series], [n for _d, n in series],
                                          title=_("Points by month"), unit=unit, highlight=len(series) - 1))]


def register() -> None:
    from learning.web.figures import register_figure
    from learning.web.todo import register_todo

    register_todo(points_todos, order=10)
    register_figure(points_figures, order=10)
