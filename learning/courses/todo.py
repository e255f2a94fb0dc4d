"""Members behind on their study hours, for the administrator's home, with a one-click reminder."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from learning.courses import reminders
from learning.orgs.scoping import Permission, scope_for
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


def register() -> None:
    from learning.web.todo import register_todo

    register_todo(hours_todos, order=20)
