"""Study hours on an administrator's home: members behind, with a one-click reminder (what needs doing),
and how many of the organisation's members are on track this quarter (its figures)."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from learning.courses import compliance, reminders
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission, scope_for
from learning.points import periods
from learning.web.figures import Figure
from learning.web.todo import Todo


def hours_todos(account) -> list[Todo]:
    if not scope_for(account).has_any(Permission.MANAGE_MEMBERS):
        return []
    found = reminders.behind_in_scope(account)
    if found is None or not found[0]:
        return []
    lines, _period = found
    return [Todo("hours_behind", len(lines), _("Members behind on this quarter's study hours"),
                 url_for("courses.compliance"),
                 action={"url": url_for("courses.nudge_behind"), "label": _("Remind all of them"),
                         "confirm": _("Send each of them a reminder in their messages now?")})]


def hours_figures(org: Organisation) -> list[Figure]:
    period_key = periods.current_quarter()
    report = compliance.summary(org, period_key)
    if not report.members:
        return []
    on_track, total = report.on_track, report.members
    return [Figure("hours_on_track", _("On track with study hours"), f"{round(100 * on_track / total)}%",
                   link=url_for("courses.compliance", org=org.id, period=period_key),
                   note=_("%(n)d of %(total)d members in %(period)s", n=on_track, total=total,
                          period=periods.label(period_key)))]


def register() -> None:
    from learning.web.figures import register_figure
    from learning.web.todo import register_todo

    register_todo(hours_todos, order=20)
    register_figure(hours_figures, order=20)
