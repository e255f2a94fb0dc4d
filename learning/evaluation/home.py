"""The monthly report on a secretary's home: last month's report not yet submitted (what needs doing)."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from learning.evaluation import reports
from learning.evaluation.models import ReportStatus
from learning.points import periods
from learning.web.todo import Todo


def report_todos(account) -> list[Todo]:
    branches = reports.written_branches(account)
    if not branches:
        return []
    today = periods.local_today()
    month_key = reports.last_month(today)
    items = []
    for branch in branches:
        report = reports.report_of(branch, month_key)
        if report is None or report.status != ReportStatus.SUBMITTED:
            due = reports.deadline(month_key)
            items.append(Todo(f"report_{branch.id}", 1,
                              _("Monthly report of %(month)s to submit by %(due)s", month=periods.label(month_key),
                                due=due.isoformat()) if today <= due
                              else _("Monthly report of %(month)s is overdue", month=periods.label(month_key)),
                              url_for("evaluation.edit_report", branch_id=branch.id, month=month_key)))
    return items


def register() -> None:
    from learning.web.todo import register_todo

    register_todo(report_todos, order=15)
